"""`fleetwatch stream`: the live temperature watch."""

from __future__ import annotations


def add_commands(commands) -> None:
    stream = commands.add_parser("stream", help="run the live temperature watch")
    from spark_app.stream.main import add_arguments
    add_arguments(stream)
    stream.set_defaults(handler=run)


def run(args) -> int:
    from spark_app.stream.main import run_from_args

    return run_from_args(args)
