"""Running the daily job for one day or a range: the same code behind
`fleetwatch daily`, `spark-submit spark_app/daily/entry.py` and Airflow."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta

from schemas.faults import day_in_range, representable_days
from spark_app.common.cli_args import iso_day
from spark_app.common.config import load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--day", required=True, type=iso_day, metavar="YYYY-MM-DD",
                        help="the received day to process")
    parser.add_argument("--to", type=iso_day, metavar="YYYY-MM-DD",
                        help="process every day from --day to this one, in order")


def days_between(first: date, last: date | None) -> list[date]:
    last = last or first
    if last < first:
        raise ValueError(f"--to {last} is before --day {first}")
    for day in (first, last):
        if not day_in_range(day):
            raise ValueError(f"{day} is outside the days the pipeline can represent "
                             f"({representable_days()})")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def app_name(days: list[date]) -> str:
    """The application's name, carrying its days, as the History Server lists it."""
    first, last = days[0], days[-1]
    return f"fleetwatch-daily-{first}" + (f"..{last}" if last != first else "")


def run(config, days: list[date], echo=print) -> int:
    from spark_app.common.spark_session import build_spark_session
    from spark_app.daily.job import run_day

    spark = build_spark_session(config, app_name=app_name(days))
    try:
        if spark.sparkContext.uiWebUrl:
            echo(f"Spark UI: {spark.sparkContext.uiWebUrl}")
        for index, day in enumerate(days, start=1):
            began = time.monotonic()
            result = run_day(spark, config, day)
            skipped = f", {len(result.skipped)} rule(s) skipped" if result.skipped else ""
            echo(f"[{index}/{len(days)}] {day}: {result.faults_read} faults, "
                 f"{result.pending_read} pending, {result.violations_found} violations found, "
                 f"{result.violations_new} new{skipped} ({time.monotonic() - began:.1f}s)",
                 flush=True)
            for item in result.skipped:
                echo(f"    rule {item['rule_id']} skipped: {item['reason']}")
    finally:
        spark.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """spark-submit entry: `spark_app/daily/entry.py --day D [--to D2] [--config F]`."""
    parser = argparse.ArgumentParser(prog="fleetwatch-daily")
    parser.add_argument("--config", metavar="FILE")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        days = days_between(args.day, args.to)
    except ValueError as error:
        parser.error(str(error))  # exits 2, as `fleetwatch daily` does
    return run(load_config(args.config), days)


if __name__ == "__main__":
    sys.exit(main())
