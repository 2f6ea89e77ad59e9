"""`fleetwatch stream`: the live temperature watch."""

from __future__ import annotations

import sys


def add_commands(commands) -> None:
    stream = commands.add_parser("stream", help="run the live temperature watch")
    from spark_app.stream.main import add_arguments
    add_arguments(stream)
    stream.set_defaults(handler=run)


def run(args) -> int:
    from spark_app.common.cli_args import EXIT_FAILURE
    from spark_app.stream.job import StreamStopped
    from spark_app.stream.main import run_from_args

    try:
        return run_from_args(args)
    except StreamStopped as error:  # its reason, not the Java traceback around it
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_FAILURE
