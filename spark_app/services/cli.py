"""`fleetwatch services start|stop|status [--postgres] [--kafka]`: the local Cassandra
and SMTP sink, and on request a local PostgreSQL and Kafka broker."""

from __future__ import annotations

import shlex
import sys

from spark_app.common.cli_args import EXIT_FAILURE, EXIT_OK
from spark_app.common.config import Config, load_config
from spark_app.common.output import Column, add_format_option, write_listing


def add_commands(commands) -> None:
    services = commands.add_parser(
        "services", help="start/stop the local Cassandra and loopback SMTP sink "
                         "(--postgres, --kafka: PostgreSQL and Kafka too)")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.add_argument(
        "--postgres", action="store_true",
        help="also a local PostgreSQL (Debian's server binaries, data in var/postgres); "
             "start prints the FLEETWATCH_DATABASE_URL to export")
    services.add_argument(
        "--kafka", action="store_true",
        help="also a local Kafka broker on stream.kafka_bootstrap (data in var/kafka)")
    add_format_option(services)  # of status
    services.set_defaults(handler=run)


def run(args) -> int:
    from spark_app.services.postgres import LocalPostgres
    from spark_app.services.process import ServiceError

    config = load_config(args.config)
    statuses = []
    try:
        services = _selected(config, args)
        if args.action == "stop":
            services.reverse()  # the optional ones first, Cassandra last
        for service in services:
            if args.action == "start":
                print(service.start().line())
                if isinstance(service, LocalPostgres):
                    print("export FLEETWATCH_DATABASE_URL=" + shlex.quote(service.url()))
            elif args.action == "stop":
                if not service.stop():
                    print(f"{service.status().name}: not running")
            else:
                statuses.append(service.status())
    except ServiceError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_FAILURE
    if args.action == "status":
        _print_statuses(statuses, args.format)
    return EXIT_OK if all(status.answering for status in statuses) else EXIT_FAILURE


def _selected(config: Config, args) -> list:
    """The default services, plus PostgreSQL and Kafka when asked for, or, for stop
    and status, when a pid file says they were started."""
    from spark_app.services.kafka import LocalKafka
    from spark_app.services.mail_sink import local_services
    from spark_app.services.postgres import LocalPostgres

    services = local_services(config)
    for wanted, service in ((args.postgres, LocalPostgres), (args.kafka, LocalKafka)):
        started = (config.var_dir / "run" / f"{service.name}.pid").exists()
        if wanted or (args.action != "start" and started):
            services.append(service(config))
    return services


def _print_statuses(statuses, output_format: str) -> None:
    write_listing([{"service": status.name, "state": status.state, "pid": status.pid,
                    "answering": status.answering, "detail": status.detail or None}
                   for status in statuses],
                  [Column("service"), Column("state"), Column("pid", align_right=True),
                   Column("detail")], output_format, sys.stdout, noun="service")
