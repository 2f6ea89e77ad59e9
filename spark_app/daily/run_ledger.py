"""The daily job's books in job_runs: which run of a day is running, which
succeeded, which died, and which violations each succeeded run is credited
with, so that for every day the `violations_new` of its succeeded runs add up
to the violations stored under their ids, after any crash.

- A run starts by marking the day's runs still `running` as `abandoned`: a
  killed driver never records its end, and Airflow keeps one run of the DAG
  at a time. A manual run beside a live one marks the live one too early;
  that run still records its own end, and its credit is then counted exactly
  (see `succeed`), so the books hold either way.
- A run that succeeds takes over the violations stored under the day's
  `failed` and `abandoned` runs (a crash after the upsert leaves them there,
  and the rerun finds them already stored) and is credited with them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from schemas.relational import JobRun, Violation

if TYPE_CHECKING:
    from spark_app.daily.job import RunResult

RUNNING, SUCCEEDED, FAILED, ABANDONED = "running", "succeeded", "failed", "abandoned"


class RunLedger:
    def __init__(self, engine: Engine):
        self._engine = engine

    def start(self, result: RunResult, started: datetime) -> None:
        """Record `result` as running; the day's older runs still running are abandoned."""
        with Session(self._engine) as session, session.begin():
            session.execute(
                update(JobRun)
                .where(JobRun.day == result.day, JobRun.status == RUNNING,
                       JobRun.run_id != result.run_id)
                .values(status=ABANDONED, finished_at=_naive(started),
                        error=f"abandoned: still running when run {result.run_id} "
                              f"of the same day started")
                .execution_options(synchronize_session=False))
            session.merge(_row(result, started, None, None))

    def stored_under(self, run_id: str) -> int:
        """The violations stored under `run_id` (no index on run_id: a scan)."""
        with self._engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Violation)
                                     .where(Violation.run_id == run_id))

    def succeed(self, result: RunResult, started: datetime, finished: datetime) -> None:
        """Record `result` as succeeded, credited with the violations it
        inserted and those it takes over from the day's runs that died."""
        with Session(self._engine) as session, session.begin():
            # Locking the day's rows makes two runs of a day finishing at
            # once take turns (SQLite has one writer at a time anyway).
            statuses = dict(session.execute(
                select(JobRun.run_id, JobRun.status)
                .where(JobRun.day == result.day).with_for_update()).all())
            dead = sorted(run_id for run_id, status in statuses.items()
                          if status in (FAILED, ABANDONED) and run_id != result.run_id)
            taken_over = 0
            if dead:  # no index on run_id: a scan of violations, paid only after a crash
                taken_over = session.execute(
                    update(Violation).where(Violation.run_id.in_(dead))
                    .values(run_id=result.run_id)
                    .execution_options(synchronize_session=False)).rowcount
            if statuses.get(result.run_id) == RUNNING:
                result.violations_new = result.violations_inserted + taken_over
            else:
                # Abandoned while alive: a newer run may have taken over part
                # of what this one inserted, so count what is still ours.
                result.violations_new = session.scalar(
                    select(func.count()).select_from(Violation)
                    .where(Violation.run_id == result.run_id))
            result.status = SUCCEEDED
            session.merge(_row(result, started, finished, None))

    def fail(self, result: RunResult, started: datetime, finished: datetime,
             error: str) -> None:
        """Record `result` as failed; what it inserted waits for the next successful run."""
        with Session(self._engine) as session, session.begin():
            result.status = FAILED
            result.violations_new = result.violations_inserted
            session.merge(_row(result, started, finished, error))


def _naive(instant: datetime) -> datetime:
    return instant.replace(tzinfo=None)


def _row(result: RunResult, started: datetime, finished: datetime | None,
         error: str | None) -> JobRun:
    return JobRun(
        run_id=result.run_id, day=result.day, started_at=_naive(started),
        finished_at=_naive(finished) if finished else None, status=result.status,
        faults_read=result.faults_read, pending_read=result.pending_read,
        violations_new=result.violations_new, rules_skipped=json.dumps(result.skipped),
        stage_metrics=json.dumps(result.stages), error=error)
