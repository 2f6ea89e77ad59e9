"""Printing a backtest (`fleetwatch rules backtest`): per day and per serial by
default, the violations as CSV (`serial_number,timestamp`, sorted, ISO 8601 UTC
with milliseconds; plus `change` against a stored rule), or everything as JSON.
Progress (days read) and the cost (faults read, seconds) go to stderr."""

from __future__ import annotations

import json
from typing import TextIO

from rules.ast import render
from rules.timefmt import format_iso_ms
from spark_app.common.cli_args import EXIT_OK
from spark_app.common.config import Config
from spark_app.common.output import Column, write_listing
from spark_app.daily.backtest import (
    CHANGES,
    Backtest,
    BacktestResult,
    diff,
    per_day,
    per_serial,
    run_backtest,
    stored_violations_of_runs,
)


def backtest_and_print(config: Config, backtest: Backtest, against: int | None,
                       output_format: str, out: TextIO, err: TextIO) -> int:
    from spark_app.common.progress import Progress
    from spark_app.common.relational import engine_from_config
    from spark_app.common.spark_session import build_spark_session

    spark = build_spark_session(config, app_name="fleetwatch-backtest")
    try:
        # a bar on a terminal, plain periodic log lines otherwise (Airflow, the demo's log)
        with Progress("days read", total=len(backtest.days), unit="day", stream=err) as progress:
            def read(days):
                progress.update(days - progress.count)
            result = run_backtest(spark, config, backtest, on_days_read=read)
    finally:
        spark.stop()
    changes = None
    if against is not None:
        changes = diff(result.violations, stored_violations_of_runs(
            engine_from_config(config), against, backtest.first_day, backtest.last_day))
    err.write(f"read {result.faults_read} faults of model {backtest.model} received "
              f"{backtest.first_day} to {backtest.last_day} in {result.seconds:.1f}s; "
              f"{len(result.violations)} violations\n")
    print_backtest(backtest, result, against, changes, output_format, out)
    return EXIT_OK


def change_counts(changes) -> dict[str, int]:
    counts = changes["change"].value_counts()
    return {change: int(counts.get(change, 0)) for change in CHANGES}


def print_backtest(backtest: Backtest, result: BacktestResult, against: int | None,
                   changes, output_format: str, out: TextIO) -> None:
    rows = result.violations if changes is None else changes
    if output_format == "csv":
        columns = [Column("serial_number"), Column("timestamp")]
        if changes is not None:
            columns.append(Column("change"))
        write_listing(_violation_records(rows, changes is not None), columns, "csv", out)
        return
    summary = {"expression": render(backtest.rule), "model": backtest.model,
               "from": backtest.first_day, "to": backtest.last_day,
               "faults_read": result.faults_read, "seconds": round(result.seconds, 3)}
    if output_format == "json":
        document = {**{key: _json(value) for key, value in summary.items()},
                    "per_day": [{key: _json(value) for key, value in day.items()}
                                for day in per_day(result.violations)],
                    "violations": _violation_records(rows, changes is not None)}
        if changes is not None:
            document["against"] = {"rule_id": against, **change_counts(changes)}
        json.dump(document, out, indent=1, ensure_ascii=False)
        out.write("\n")
        return
    out.write(f"backtest of {summary['expression']} on model {backtest.model}, faults received "
              f"{backtest.first_day} to {backtest.last_day}\n")
    write_listing(per_day(result.violations),
                  [Column("day"), Column("violations", align_right=True),
                   Column("serials", align_right=True)], "table", out, noun="day")
    out.write("serials affected:\n")
    write_listing(per_serial(result.violations),
                  [Column("serial_number", "serial"), Column("violations", align_right=True),
                   Column("first"), Column("last")], "table", out, noun="serial")
    if changes is not None:
        counts = change_counts(changes)
        out.write(f"against rule {against}: " + ", ".join(
            f"{counts[change]} {change}" for change in CHANGES) + "\n")


def _violation_records(rows, with_change: bool) -> list[dict]:
    records = [{"serial_number": serial, "timestamp": format_iso_ms(instant)}
               for serial, instant in zip(rows["serial_number"].tolist(), rows["ts"].tolist(),
                                          strict=True)]
    if with_change:
        for record, change in zip(records, rows["change"].tolist(), strict=True):
            record["change"] = change
    return records


def _json(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
