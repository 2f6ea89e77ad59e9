"""The daily job's books (job_runs) on real SQLite and PostgreSQL, runs played
by hand around the real violation upsert: dead runs are abandoned, and the
`violations_new` of a day's succeeded runs add up to the violations stored
under their ids, even when a live run was taken for dead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import func, insert, select

from schemas.relational import JobRun, Rule, Violation
from spark_app.daily.job import RunResult
from spark_app.daily.run_ledger import RunLedger
from spark_app.daily.violation_sink import upsert_violations

DAY = date(2016, 11, 14)
T0 = datetime(2016, 11, 15, 0, 30, tzinfo=UTC)


def _rule(engine) -> int:
    with engine.begin() as connection:
        return connection.execute(insert(Rule).values(
            model="JAP", expression="#A", active=True).returning(Rule.id)).scalar_one()


def _upsert(engine, result: RunResult, rule_id: int, minutes: list[int]) -> None:
    """What the job's upsert step does: inserts the new keys under the run's id."""
    frame = pd.DataFrame({"rule_id": [rule_id] * len(minutes),
                          "serial_number": ["JAP00001"] * len(minutes),
                          "ts": [datetime(2016, 11, 14, 8, minute) for minute in minutes]})
    _, inserted = upsert_violations(engine, [frame], T0.replace(tzinfo=None), result.run_id, 1000)
    result.violations_inserted += inserted


def _runs(engine) -> dict[str, tuple[str, int | None, datetime | None]]:
    with engine.connect() as connection:
        return {run_id: (status, new, finished) for run_id, status, new, finished in
                connection.execute(select(JobRun.run_id, JobRun.status, JobRun.violations_new,
                                          JobRun.finished_at))}


def _owners(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(select(Violation.run_id, func.count())
                                       .group_by(Violation.run_id)).all())


def test_a_rerun_abandons_the_killed_run_and_takes_over_its_violations(engine):
    rule_id, ledger = _rule(engine), RunLedger(engine)
    killed = RunResult(run_id="run-killed", day=DAY)
    ledger.start(killed, T0)
    _upsert(engine, killed, rule_id, [0, 1, 2])  # then the driver is killed: no end recorded

    rerun = RunResult(run_id="run-rerun", day=DAY)
    ledger.start(rerun, T0 + timedelta(minutes=5))
    status, _, finished = _runs(engine)["run-killed"]
    assert (status, finished) == ("abandoned", datetime(2016, 11, 15, 0, 35))
    with engine.connect() as connection:
        error = connection.execute(select(JobRun.error)
                                   .where(JobRun.run_id == "run-killed")).scalar_one()
    assert "run-rerun" in error

    _upsert(engine, rerun, rule_id, [0, 1, 2, 3])
    assert rerun.violations_inserted == 1  # the other three were stored by the killed run
    ledger.succeed(rerun, T0 + timedelta(minutes=5), T0 + timedelta(minutes=6))
    assert rerun.violations_new == 4
    assert _runs(engine)["run-rerun"][:2] == ("succeeded", 4)
    assert _owners(engine) == {"run-rerun": 4}

    again = RunResult(run_id="run-again", day=DAY)  # after a success: nothing to take over
    ledger.start(again, T0 + timedelta(minutes=10))
    _upsert(engine, again, rule_id, [0, 1, 2, 3])
    ledger.succeed(again, T0 + timedelta(minutes=10), T0 + timedelta(minutes=11))
    runs = _runs(engine)
    assert {run_id: runs[run_id][:2] for run_id in runs} == {
        "run-killed": ("abandoned", 0), "run-rerun": ("succeeded", 4),
        "run-again": ("succeeded", 0)}
    assert _owners(engine) == {"run-rerun": 4}


def test_a_failed_run_keeps_what_it_inserted_until_the_next_success(engine):
    rule_id, ledger = _rule(engine), RunLedger(engine)
    failed = RunResult(run_id="run-failed", day=DAY)
    ledger.start(failed, T0)
    _upsert(engine, failed, rule_id, [0, 1])
    ledger.fail(failed, T0, T0 + timedelta(minutes=1), "InjectedFailure: after upsert")
    assert _runs(engine)["run-failed"][:2] == ("failed", 2)
    assert _owners(engine) == {"run-failed": 2}

    rerun = RunResult(run_id="run-rerun", day=DAY)
    ledger.start(rerun, T0 + timedelta(minutes=2))
    assert _runs(engine)["run-failed"][0] == "failed"  # a finished run is not abandoned
    _upsert(engine, rerun, rule_id, [0, 1])
    ledger.succeed(rerun, T0 + timedelta(minutes=2), T0 + timedelta(minutes=3))
    assert _runs(engine)["run-rerun"][:2] == ("succeeded", 2)
    assert _owners(engine) == {"run-rerun": 2}


def test_a_live_run_taken_for_dead_still_balances_the_books(engine):
    """A manual run beside a live one: the live one is abandoned too early,
    the newer one takes over what it had stored, and the older one, when it
    ends, is credited only with what is still under its id."""
    rule_id, ledger = _rule(engine), RunLedger(engine)
    older = RunResult(run_id="run-older", day=DAY)
    ledger.start(older, T0)
    _upsert(engine, older, rule_id, [0, 1, 2])

    newer = RunResult(run_id="run-newer", day=DAY)
    ledger.start(newer, T0 + timedelta(minutes=1))
    _upsert(engine, newer, rule_id, [2, 3])
    ledger.succeed(newer, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2))
    assert newer.violations_new == 4  # minute 3 inserted, 0, 1, 2 taken over

    _upsert(engine, older, rule_id, [4])  # the older run goes on, then ends
    assert older.violations_inserted == 4
    ledger.succeed(older, T0, T0 + timedelta(minutes=3))
    runs = _runs(engine)
    assert {run_id: runs[run_id][:2] for run_id in runs} == {
        "run-older": ("succeeded", 1), "run-newer": ("succeeded", 4)}
    assert _owners(engine) == {"run-older": 1, "run-newer": 4}


def test_runs_of_other_days_are_left_alone(engine):
    rule_id, ledger = _rule(engine), RunLedger(engine)
    yesterday = RunResult(run_id="run-yesterday", day=DAY - timedelta(days=1))
    ledger.start(yesterday, T0)
    _upsert(engine, yesterday, rule_id, [0])
    ledger.fail(yesterday, T0, T0 + timedelta(minutes=1), "InjectedFailure: after upsert")
    still_running = RunResult(run_id="run-still-running", day=DAY + timedelta(days=1))
    ledger.start(still_running, T0)

    today = RunResult(run_id="run-today", day=DAY)
    ledger.start(today, T0 + timedelta(minutes=2))
    ledger.succeed(today, T0 + timedelta(minutes=2), T0 + timedelta(minutes=3))
    runs = _runs(engine)
    assert {run_id: runs[run_id][:2] for run_id in runs} == {
        "run-yesterday": ("failed", 1), "run-still-running": ("running", 0),
        "run-today": ("succeeded", 0)}
    assert _owners(engine) == {"run-yesterday": 1}
