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
from spark_app.daily import cli as daily_cli
from spark_app.ingest import cli as ingest_cli
from spark_app.report import cli as report_cli
from spark_app.services import cli as services_cli
from spark_app.sim import cli as sim_cli
from spark_app.stream import cli as stream_cli

EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what a filter killed by a closed pipe exits with

# Each box adds its own commands (and their handlers) to the parser.
BOXES = (services_cli, common_cli, daily_cli, stream_cli, sim_cli, ingest_cli, report_cli)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetwatch", description="Predictive maintenance for heavy-equipment fleets.")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: FLEETWATCH_CONFIG or conf/fleetwatch.toml)")
    parser.add_argument("--version", action="version",
                        version=f"fleetwatch {importlib.metadata.version('fleetwatch')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for box in BOXES:
        box.add_commands(commands)
    demo = commands.add_parser("demo", help="run the end-to-end demo on the embedded defaults")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
    kind = f"{type(error).__module__}.{type(error).__name__}"
    if kind == "cassandra.cluster.NoHostAvailable":
        return (f"Cassandra is not reachable ({error}); is it running? "
                "`fleetwatch services start` starts the local one")
    if kind == "cassandra.InvalidRequest" and "does not exist" in str(error):
        return f"{error}; run `fleetwatch db init` to create the schema"
    if kind.startswith("sqlalchemy.exc.") and ("no such table" in str(error)
                                               or "does not exist" in str(error)):
        return f"{str(error).splitlines()[0]}; run `fleetwatch db init` to create the tables"
    if kind == "sqlalchemy.exc.OperationalError":
        return f"the database is not reachable: {str(error).splitlines()[0]}"
    return None


def _demo(args) -> int:
    from spark_app.demo import run_demo

    return run_demo(load_config(args.config))


if __name__ == "__main__":
    sys.exit(main())
