"""Running the daily job for one day or a range: the same code behind
`fleetwatch daily`, `spark-submit spark_app/daily/entry.py` and Airflow."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import date, timedelta

from schemas.faults import day_in_range, representable_days
from spark_app.common.cli_args import iso_day
from spark_app.common.config import ConfigError, load_config
from spark_app.common.log_setup import add_logging_options, chosen_level, configure_logging
from spark_app.common.progress import Progress

log = logging.getLogger(__name__)


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


def task_seconds_text(seconds: dict[str, float]) -> str:
    """Where the evaluation's task time went, largest first, in one line."""
    parts = sorted(seconds.items(), key=lambda item: -item[1])
    return ("task seconds: " + ", ".join(f"{part.replace('_', ' ')} {value:.1f}s"
                                         for part, value in parts)
            + f" (of {sum(seconds.values()):.1f}s in Python, summed over the shards)")


def run(config, days: list[date]) -> int:
    """Each day in turn: its counts on stdout, the progress over the days on stderr."""
    from spark_app.common.spark_session import build_spark_session
    from spark_app.daily.job import run_day

    spark = build_spark_session(config, app_name=app_name(days))
    span = f"{days[0]}..{days[-1]}" if len(days) > 1 else str(days[0])
    try:
        if spark.sparkContext.uiWebUrl:
            log.info("Spark UI: %s", spark.sparkContext.uiWebUrl)
        with Progress(f"daily {span}", total=len(days), unit="day", logger=log,
                      interval_s=0) as progress:
            for index, day in enumerate(days, start=1):
                began = time.monotonic()
                result = run_day(spark, config, day)
                skipped = f", {len(result.skipped)} rule(s) skipped" if result.skipped else ""
                progress.write(
                    f"[{index}/{len(days)}] {day}: {result.faults_read} faults, "
                    f"{result.pending_read} pending, {result.violations_found} violations "
                    f"found, {result.violations_new} new{skipped} "
                    f"({time.monotonic() - began:.1f}s)")
                for item in result.skipped:
                    progress.write(f"    rule {item['rule_id']} skipped: {item['reason']}")
                if result.task_seconds:
                    progress.write(f"    {task_seconds_text(result.task_seconds)}")
                progress.note(f"{day} done")
                progress.update()
    finally:
        spark.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """spark-submit entry: `spark_app/daily/entry.py --day D [--to D2] [--config F]`."""
    parser = argparse.ArgumentParser(prog="fleetwatch-daily")
    parser.add_argument("--config", metavar="FILE")
    add_logging_options(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        configure_logging(chosen_level(args.log_level))
        days = days_between(args.day, args.to)
    except ValueError as error:  # a bad FLEETWATCH_LOG_LEVEL or day range
        parser.error(str(error))  # exits 2, as `fleetwatch daily` does
    try:
        config = load_config(args.config)
    except ConfigError as error:
        parser.exit(2, f"{parser.prog}: configuration error: {error}\n")
    return run(config, days)


if __name__ == "__main__":
    sys.exit(main())
