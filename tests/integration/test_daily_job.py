"""The daily job on real Cassandra, Spark and SQLite: days processed in order
equal one brute-force evaluation over all faults; reruns and crashes change
nothing; broken rules are skipped and reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, func, insert, select, update
from sqlalchemy.orm import Session

from rules.parser import parse_rule
from schemas.relational import JobRun, Rule, Violation
from spark_app.common.config import load_config
from spark_app.common.relational import create_tables
from spark_app.daily.evaluate import KILL_AFTER_STORE_ENV
from spark_app.daily.job import STEPS, InjectedFailure, run_day
from spark_app.daily.pending import PendingGenerations
from tests.support.daily_data import (
    FIRST_DAY,
    RULES,
    expected_violations,
    make_faults,
    received_days,
    stored_violations,
    write_faults,
)


def config_for(db_url: str):
    return load_config(environ={**os.environ, "FLEETWATCH_DATABASE_URL": db_url})


@pytest.fixture
def daily_env(tmp_path, cassandra):
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    config = config_for(f"sqlite:///{tmp_path / 'daily.db'}")
    engine = create_engine(config.database_url())
    create_tables(engine)
    ids = {}
    with Session(engine) as session, session.begin():
        for name, (model, expression) in RULES.items():
            rule = Rule(model=model, expression=expression, description=name, active=True)
            session.add(rule)
            session.flush()
            ids[name] = rule.id
    yield config, engine, ids
    engine.dispose()


def pending_state(cassandra, config):
    """Every generation's metadata and decoded faults (block boundaries may differ)."""
    generations = PendingGenerations(cassandra, config.get("cassandra", "keyspace"),
                                     config.get("cassandra", "shards"))
    return [(row.as_of, tuple(sorted(row.rule_fingerprints.items())), row.faults,
             generations.faults(row.as_of))
            for row in sorted(cassandra.execute(
                "SELECT as_of, rule_fingerprints, faults FROM pending_generations"),
                key=lambda row: row.as_of)]


def test_days_in_order_equal_one_evaluation_over_all_faults(spark, cassandra, daily_env):
    config, engine, ids = daily_env
    faults = make_faults(seed=7, days=5, late=True)
    write_faults(cassandra, config, faults)
    for day in received_days(faults):
        run_day(spark, config, day)

    without_tti = [name for name in RULES if "tti" not in RULES[name][1]]
    want = expected_violations(faults, ids, without_tti)
    assert len(want) > 50, "the data should exercise the rules"
    assert stored_violations(engine, {ids[n] for n in without_tti}) == want

    # tti with late data: never two stored violations of a rule and serial closer than n
    for name in ("tti", "tti single"):
        window = parse_rule(RULES[name][1]).tti_ms
        by_serial: dict[str, list[int]] = {}
        for _, serial, instant in stored_violations(engine, {ids[name]}):
            by_serial.setdefault(serial, []).append(instant)
        assert by_serial, name
        for instants in by_serial.values():
            instants.sort()
            assert all(b - a >= window for a, b in zip(instants, instants[1:], strict=False))


def test_in_order_data_gives_the_one_shot_tti_result(spark, cassandra, daily_env):
    config, engine, ids = daily_env
    faults = make_faults(seed=11, days=4, late=False)
    write_faults(cassandra, config, faults)
    for day in received_days(faults):
        run_day(spark, config, day)
    want = expected_violations(faults, ids, list(RULES))
    assert stored_violations(engine) == want
    assert {rule_id for rule_id, _, _ in want} >= {ids["tti"], ids["tti single"]}


def _die_killed(engine) -> None:
    """Leave the crashed run's row as a killed driver does: as its start wrote
    it, since no handler ran to record the end."""
    with engine.begin() as connection:
        connection.execute(update(JobRun).where(JobRun.status == "failed").values(
            status="running", finished_at=None, error=None, violations_new=0))


def books(engine) -> dict:
    """Per day: the violations_new of its succeeded runs and the violations
    stored under their ids; the violations stored under runs that did not
    succeed; the runs left running."""
    with engine.connect() as connection:
        runs = connection.execute(
            select(JobRun.day, JobRun.status, JobRun.violations_new, func.count(Violation.id))
            .outerjoin(Violation, Violation.run_id == JobRun.run_id)
            .group_by(JobRun.run_id, JobRun.day, JobRun.status, JobRun.violations_new)).all()
        stored = connection.execute(select(func.count()).select_from(Violation)).scalar_one()
    credited: dict = {}
    for day, status, new, owned in runs:
        if status == "succeeded":
            day_new, day_owned = credited.get(day, (0, 0))
            credited[day] = (day_new + new, day_owned + owned)
    return {"credited": credited,
            "uncredited": stored - sum(owned for _, owned in credited.values()),
            "running": sum(status == "running" for _, status, _, _ in runs)}


def test_a_crash_after_any_step_then_a_rerun_changes_nothing(spark, cassandra, daily_env):
    config, engine, ids = daily_env
    faults = make_faults(seed=3, days=3, late=True)
    write_faults(cassandra, config, faults)
    days = received_days(faults)
    for day in days[:-1]:
        run_day(spark, config, day)
    last = days[-1]
    snapshots = []
    for step in STEPS:
        with pytest.raises(InjectedFailure):
            run_day(spark, config, last, fail_after=step)
        run_day(spark, config, last)
        snapshots.append((stored_violations(engine), pending_state(cassandra, config)))
    run_day(spark, config, last)  # and once more after a success
    snapshots.append((stored_violations(engine), pending_state(cassandra, config)))
    assert all(snapshot == snapshots[0] for snapshot in snapshots[1:])
    without_tti = [name for name in RULES if "tti" not in RULES[name][1]]
    assert stored_violations(engine, {ids[n] for n in without_tti}) == \
        expected_violations(faults, ids, without_tti)
    with Session(engine) as session:
        statuses = [run.status for run in session.scalars(
            select(JobRun).where(JobRun.day == last).order_by(JobRun.started_at))]
    assert statuses.count("failed") == len(STEPS) - 1  # a crash after "record" leaves it recorded
    assert statuses.count("succeeded") == len(STEPS) + 2


@pytest.mark.parametrize("death", ["raised", "killed"])
def test_the_books_add_up_after_a_crash_at_any_step(spark, cassandra, daily_env, death):
    """Day i crashes after step i the first time it runs (so the crash meets
    the day's violations not yet stored), then runs again."""
    config, engine, ids = daily_env
    faults = make_faults(seed=19, days=len(STEPS), late=True)
    write_faults(cassandra, config, faults)
    days = received_days(faults)
    for day, step in zip(days, STEPS, strict=False):
        stored_before = len(stored_violations(engine))
        with pytest.raises(InjectedFailure):
            run_day(spark, config, day, fail_after=step)
        if death == "killed":
            _die_killed(engine)
        run_day(spark, config, day)
        state = books(engine)
        # Every violation is credited to one succeeded run of its day, and
        # no run is left running.
        assert state["uncredited"] == 0, (step, state)
        assert state["running"] == 0, (step, state)
        assert all(new == owned for new, owned in state["credited"].values()), (step, state)
        assert state["credited"][day][0] == len(stored_violations(engine)) - stored_before, \
            (step, state)
    for day in days[len(STEPS):]:
        run_day(spark, config, day)
    without_tti = [name for name in RULES if "tti" not in RULES[name][1]]
    assert stored_violations(engine, {ids[n] for n in without_tti}) == \
        expected_violations(faults, ids, without_tti)
    with Session(engine) as session:
        statuses = [run.status for run in session.scalars(select(JobRun))]
    dead = "failed" if death == "raised" else "abandoned"
    assert statuses.count(dead) == len(STEPS) - 1  # a crash after "record" leaves it recorded
    assert "running" not in statuses
    state = books(engine)
    assert state["uncredited"] == 0 and all(
        new == owned for new, owned in state["credited"].values()), state


def test_a_killed_driver_is_abandoned_and_its_rerun_is_credited(spark, cassandra, daily_env,
                                                                tmp_path):
    """A real `fleetwatch daily` killed (SIGKILL, no handler runs) once its
    violations are stored, then the day run again."""
    config, engine, ids = daily_env
    faults = make_faults(seed=23, days=1, late=False)
    write_faults(cassandra, config, faults)
    day = received_days(faults)[0]
    killed_run = select(JobRun.run_id).where(JobRun.status == "running").where(
        select(Violation.id).where(Violation.run_id == JobRun.run_id).exists())
    log = tmp_path / "driver.log"
    with log.open("w") as output:
        driver = subprocess.Popen(
            [sys.executable, "-m", "spark_app.cli", "daily", "--day", str(day)],
            env={**os.environ, "FLEETWATCH_DATABASE_URL": config.database_url()},
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:  # between the upsert and the run's end: pending write, switch, drop
            with engine.connect() as connection:
                killed_id = connection.execute(killed_run).scalar()
            if killed_id or driver.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        os.killpg(driver.pid, signal.SIGKILL)  # the driver, its JVM and Python workers
        driver.wait(timeout=60)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
    assert killed_id, "the driver ended before it could be killed:\n" + log.read_text()

    rerun = run_day(spark, config, day)
    want = expected_violations(faults, ids, list(RULES))
    assert stored_violations(engine) == want
    with Session(engine) as session:
        killed = session.get(JobRun, killed_id)
        assert (killed.status, killed.violations_new) == ("abandoned", 0)
        assert killed.finished_at is not None and rerun.run_id in killed.error
        assert session.get(JobRun, rerun.run_id).violations_new == len(want)
    assert books(engine) == {"credited": {day: (len(want), len(want))}, "uncredited": 0,
                             "running": 0}


def test_tasks_killed_after_storing_their_violations_run_again_and_the_books_add_up(
        spark, cassandra, daily_env):
    """A real `fleetwatch daily` whose every task dies on its first attempt (its
    Python worker SIGKILLed) once its shard's violations are committed, before
    its pending blocks are written; with retries allowed (local[2,2]) the
    second attempts find those violations stored already."""
    config, engine, ids = daily_env
    faults = make_faults(seed=29, days=1, late=False)
    write_faults(cassandra, config, faults)
    day = received_days(faults)[0]
    driver = subprocess.run(
        [sys.executable, "-m", "spark_app.cli", "daily", "--day", str(day)],
        env={**os.environ, "FLEETWATCH_DATABASE_URL": config.database_url(),
             "FLEETWATCH_SPARK_MASTER": "local[2,2]", KILL_AFTER_STORE_ENV: "1"},
        capture_output=True, text=True, timeout=600)
    assert driver.returncode == 0, driver.stdout[-3000:] + driver.stderr[-5000:]
    assert "Lost task" in driver.stderr, "no task was killed:\n" + driver.stderr[-3000:]

    want = expected_violations(faults, ids, list(RULES))
    assert stored_violations(engine) == want
    with Session(engine) as session:
        [run] = session.scalars(select(JobRun)).all()
    assert (run.status, run.violations_new) == ("succeeded", len(want))
    assert books(engine) == {"credited": {day: (len(want), len(want))}, "uncredited": 0,
                             "running": 0}
    # the retried tasks wrote the pending faults a run without deaths writes
    pending = pending_state(cassandra, config)
    run_day(spark, config, day)
    assert (stored_violations(engine), pending_state(cassandra, config)) == (want, pending)


def test_a_broken_stored_rule_is_skipped_and_reported(spark, cassandra, daily_env):
    config, engine, ids = daily_env
    with engine.begin() as connection:  # stored behind the validation's back
        broken_id = connection.execute(insert(Rule).values(
            model="JAP", expression="#A OU", active=True).returning(Rule.id)).scalar_one()
    faults = make_faults(seed=5, days=1, late=False)
    write_faults(cassandra, config, faults)
    day = received_days(faults)[0]
    result = run_day(spark, config, day)
    assert [item["rule_id"] for item in result.skipped] == [broken_id]
    assert "column" in result.skipped[0]["reason"]
    assert stored_violations(engine, {ids["pair"], ids["either"]}) == \
        expected_violations(faults, ids, ["pair", "either"])
    with Session(engine) as session:
        run = session.get(JobRun, result.run_id)
    assert run.status == "succeeded" and run.faults_read == len(faults)
    assert json.loads(run.rules_skipped)[0]["rule_id"] == broken_id
    stages = json.loads(run.stage_metrics)
    assert stages and all("stage_id" in stage and "duration_s" in stage for stage in stages)
    assert any("evaluate rules" in (stage["description"] or "") for stage in stages)


def test_join_with_rules_is_a_broadcast_hash_join(spark, config):
    from spark_app.common.cassandra_read import faults_received
    from spark_app.daily import frames

    tags = frames.rule_tags(spark, [("JAP", "#A"), ("JAP", "#B")])
    joined = frames.relevant_faults(faults_received(spark, config, [FIRST_DAY]), tags,
                                    FIRST_DAY)
    plan = joined._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan, plan
    assert '"day" IN' in plan or '"day" = ?' in plan, plan


def test_a_rule_activated_later_sees_the_recent_past(spark, cassandra, daily_env):
    config, engine, ids = daily_env
    with engine.begin() as connection:
        connection.execute(update(Rule).where(Rule.id == ids["pair"]).values(active=False))
    faults = make_faults(seed=13, days=5, late=True)
    write_faults(cassandra, config, faults)
    days = received_days(faults)
    for day in days[:3]:
        run_day(spark, config, day)
    with engine.begin() as connection:
        connection.execute(update(Rule).where(Rule.id == ids["pair"]).values(active=True))
    for day in days[3:]:
        run_day(spark, config, day)
    # The generations of the first days were built without the rule: its
    # faults of those days came from `faults` again, and nothing was missed.
    assert stored_violations(engine, {ids["pair"]}) == expected_violations(faults, ids, ["pair"])
    generations = PendingGenerations(cassandra, config.get("cassandra", "keyspace"),
                                     config.get("cassandra", "shards"))
    assert ids["pair"] not in generations.get(days[2]).rule_fingerprints
    assert ids["pair"] in generations.get(days[-1]).rule_fingerprints


def test_generations_beyond_the_horizon_are_dropped(spark, cassandra, daily_env, tmp_path):
    _, engine, ids = daily_env
    config = load_config(environ={**os.environ, "FLEETWATCH_DAILY_HORIZON_DAYS": "2",
                                  "FLEETWATCH_DATABASE_URL": str(engine.url)})
    faults = make_faults(seed=17, days=5, late=False)
    write_faults(cassandra, config, faults)
    days = received_days(faults)
    for day in days:
        run_day(spark, config, day)
    generations = PendingGenerations(cassandra, config.get("cassandra", "keyspace"),
                                     config.get("cassandra", "shards"))
    # D-2 … D stay: the next day needs D-1 and D, a rerun of D needs D-2 and D-1.
    assert generations.all_as_of() == days[-3:]
    last = days[-1]
    relevant = {("JAP", tag) for tag in "#A #B #C #D #E".split()} | \
        {("KOM", "#A"), ("KOM", "#C"), ("KOM", "#E")}  # what RULES mention
    assert generations.faults(last) == sorted(
        (f.serial_number, f.model, f.tag, f.ts) for f in faults
        if f.day == last and (f.model, f.tag) in relevant)
