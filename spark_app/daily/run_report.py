"""`fleetwatch runs`: the daily job's record (job_runs), and the check the
daily DAG ends with: did the latest run of a day succeed?"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from sqlalchemy import Engine, select

from schemas.relational import JobRun
from spark_app.common.output import Column, write_listing
from spark_app.daily.run_ledger import SUCCEEDED


@dataclass(frozen=True)
class RunCheck:
    ok: bool
    message: str


def runs_of(engine: Engine, day: date | None = None, limit: int = 20) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.started_at.desc()).limit(limit)
    if day is not None:
        query = query.where(JobRun.day == day)
    with engine.connect() as connection:
        return list(connection.execute(query))


def check_day(engine: Engine, day: date) -> RunCheck:
    """The latest run of `day` must have succeeded."""
    runs = runs_of(engine, day, limit=1)
    if not runs:
        return RunCheck(False, f"no daily run recorded for {day}")
    run = runs[0]
    if run.status != SUCCEEDED:
        return RunCheck(False, f"latest run of {day} ({run.run_id}) is {run.status}: {run.error}")
    skipped = json.loads(run.rules_skipped or "[]")
    note = f", {len(skipped)} rule(s) skipped" if skipped else ""
    return RunCheck(True, f"{day}: run {run.run_id} succeeded, {run.faults_read} faults, "
                          f"{run.pending_read} pending, {run.violations_new} new violations{note}")


TABLE = (Column("day"), Column("status"), Column("faults_read", "faults", align_right=True),
         Column("pending_read", "pending", align_right=True),
         Column("violations_new", "new", align_right=True),
         Column("started_at", "started"), Column("run_id", "run id"))


# Columns job_runs holds as JSON text: JSON output carries them as JSON, not as strings.
JSON_COLUMNS = ("rules_skipped", "stage_metrics")


def print_runs(runs, output_format: str, out: TextIO) -> None:
    """The table shows the counts; JSON carries every column of job_runs."""
    records = [dict(run._mapping) for run in runs]
    if output_format == "json":
        for record in records:
            for column in JSON_COLUMNS:
                if record.get(column) is not None:
                    record[column] = json.loads(record[column])
    write_listing(records, TABLE, output_format, out, noun="run")
