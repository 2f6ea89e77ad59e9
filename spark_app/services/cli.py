"""`fleetwatch services start|stop|status`: the local Cassandra and SMTP sink."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import EXIT_FAILURE, EXIT_OK
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing


def add_commands(commands) -> None:
    services = commands.add_parser(
        "services", help="start/stop the local Cassandra and loopback SMTP sink")
    services.add_argument("action", choices=["start", "stop", "status"])
    add_format_option(services)  # of status
    services.set_defaults(handler=run)


def run(args) -> int:
    from spark_app.services.mail_sink import local_services
    from spark_app.services.process import ServiceError

    services = local_services(load_config(args.config))
    statuses = []
    try:
        for service in services:
            if args.action == "start":
                print(service.start().line())
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


def _print_statuses(statuses, output_format: str) -> None:
    write_listing([{"service": status.name, "state": status.state, "pid": status.pid,
                    "answering": status.answering, "detail": status.detail or None}
                   for status in statuses],
                  [Column("service"), Column("state"), Column("pid", align_right=True),
                   Column("detail")], output_format, sys.stdout, noun="service")
