"""`fleetwatch report`: the fleet report as one self-contained HTML page. Light
to import: the work is imported when run."""

from __future__ import annotations

import sys
from pathlib import Path

from spark_app.common.cli_args import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, iso_day
from spark_app.common.config import load_config


def add_commands(commands) -> None:
    report = commands.add_parser(
        "report", help="write the fleet report: one HTML page of charts that opens offline")
    report.add_argument("--day", type=iso_day, metavar="YYYY-MM-DD",
                        help="the period's last day (default: the latest day the daily job ran)")
    report.add_argument("--days", type=_positive_days, metavar="N",
                        help="days the period covers (default report.days, 30)")
    report.add_argument("--out", type=Path, metavar="FILE.html",
                        help="where to write it (default <report.dir>/<day>.html)")
    report.set_defaults(handler=run_report)


def _positive_days(text: str) -> int:
    import argparse

    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= 3660:
        raise argparse.ArgumentTypeError(f"--days must be a whole number of days, 1 to 3660, "
                                         f"not {text!r}")
    return days


def run_report(args) -> int:
    from spark_app.report.build import NoRunYet, gather, write_page
    from spark_app.report.settings import ReportSettings

    config = load_config(args.config)
    settings = config.settings(ReportSettings)
    from py4j.protocol import Py4JJavaError

    try:
        data = gather(config, args.day, args.days or settings.days)
    except NoRunYet as error:
        print(f"fleetwatch report: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Py4JJavaError as error:  # Spark could not read Cassandra's tables
        cause = str(error.java_exception).splitlines()[0]
        print(f"fleetwatch report: reading Cassandra through Spark failed ({cause}); is it "
              "running? `fleetwatch services start` starts the local one", file=sys.stderr)
        return EXIT_FAILURE
    path = write_page(data, args.out or settings.path_for(data.period.last))
    print(f"fleet report {data.period.first} … {data.period.last}: {path}")
    return EXIT_OK
