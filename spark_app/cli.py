"""The `fleetwatch` command line, assembled from the boxes' commands (each box's
`cli.add_commands`). Handlers are thin: they load configuration, call the
modules that do the work, and return an exit code; here known errors become a
message and an exit code (2 for bad input, 1 for a failure of a service)."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys

from spark_app.common import cli as common_cli
from spark_app.common.cli_args import EXIT_BAD_INPUT, EXIT_FAILURE
from spark_app.common.config import ConfigError, load_config
from spark_app.common.log_setup import (
    LogLevelError,
    add_logging_options,
    chosen_level,
    configure_logging,
)
from spark_app.daily import cli as daily_cli
from spark_app.health import cli as health_cli
from spark_app.ingest import cli as ingest_cli
from spark_app.people import cli as people_cli
from spark_app.report import cli as report_cli
from spark_app.services import cli as services_cli
from spark_app.sim import cli as sim_cli
from spark_app.stream import cli as stream_cli

EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a filter killed by a closed pipe exits with

# Each box adds its own commands (and their handlers) to the parser.
BOXES = (services_cli, common_cli, daily_cli, stream_cli, sim_cli, ingest_cli, health_cli,
         people_cli, report_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetwatch", description="Predictive maintenance for heavy-equipment fleets.")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: FLEETWATCH_CONFIG or conf/fleetwatch.toml)")
    parser.add_argument("--version", action="version",
                        version=f"fleetwatch {importlib.metadata.version('fleetwatch')}")
    add_logging_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for box in BOXES:
        box.add_commands(commands)
    demo = commands.add_parser("demo", help="run the end-to-end demo on the embedded defaults")
    demo.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite",
                      help="the relational store: SQLite under var/ (default), or a local "
                           "PostgreSQL started for it (`make demo DB=postgres`)")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        configure_logging(chosen_level(args.log_level))
    except LogLevelError as error:
        parser.error(str(error))
    try:
        return args.handler(args)
    except BrokenPipeError:
        # The reader left (`fleetwatch violations | head`): like any Unix filter,
        # stop without a word; what is still buffered goes nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_CLOSED_PIPE
    except ConfigError as error:
        print(f"fleetwatch: configuration error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        if error.filename is None:  # not about a file named on the command line
            raise
        problem = "no such file or folder" if isinstance(error, FileNotFoundError) \
            else f"cannot use it ({error.strerror})"
        print(f"fleetwatch: {problem}: {error.filename}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("fleetwatch: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - known service failures get a plain message
        message = _service_failure(error)
        if message is None:
            raise
        print(f"fleetwatch: {message}", file=sys.stderr)
        return EXIT_FAILURE


def _service_failure(error: Exception) -> str | None:
    """A one-line explanation of a failure of Cassandra or the database, else None."""
    module = type(error).__module__
    if module.startswith("cassandra"):
        from spark_app.common.cassandra_session import connection_failure

        return connection_failure(error)
    if module.startswith("sqlalchemy"):
        from spark_app.common.relational import database_failure

        return database_failure(error)
    return None


def _demo(args) -> int:
    from spark_app.demo import run_demo

    return run_demo(load_config(args.config), database=args.db)


if __name__ == "__main__":
    sys.exit(main())
