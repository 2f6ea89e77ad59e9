"""`fleetwatch services start|stop|status`: the local Cassandra and SMTP sink."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import EXIT_FAILURE, EXIT_OK
from spark_app.common.config import load_config


def add_commands(commands) -> None:
    services = commands.add_parser(
        "services", help="start/stop the local Cassandra and loopback SMTP sink")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(handler=run)


def run(args) -> int:
    from spark_app.services.mail_sink import local_services
    from spark_app.services.process import ServiceError

    services = local_services(load_config(args.config))
    all_answering = True
    try:
        for service in services:
            if args.action == "start":
                print(service.start().line())
            elif args.action == "stop":
                if not service.stop():
                    print(f"{service.status().name}: not running")
            else:
                status = service.status()
                print(status.line())
                all_answering = all_answering and status.answering
    except ServiceError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK if all_answering else EXIT_FAILURE
