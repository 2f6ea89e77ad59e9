"""`fleetwatch runs`: the daily job's record (job_runs), and the check the
daily DAG ends with: did the latest run of a day succeed?"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from sqlalchemy import Engine, select

from schemas.relational import JobRun
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


def print_runs(runs, out: TextIO) -> None:
    out.write(f"{'day':<10}  {'status':<9} {'faults':>9} {'pending':>8} {'new':>6}  "
              f"started (UTC)        run id\n")
    for run in runs:
        out.write(f"{run.day!s:<10}  {run.status:<9} {run.faults_read or 0:>9} "
                  f"{run.pending_read or 0:>8} {run.violations_new or 0:>6}  "
                  f"{run.started_at:%Y-%m-%d %H:%M:%S}  {run.run_id}\n")
