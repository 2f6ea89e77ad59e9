"""The daily job on real Cassandra, Spark and SQLite: days processed in order
equal one brute-force evaluation over all faults; reruns and crashes change
nothing; broken rules are skipped and reported."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from rules.parser import parse_rule
from schemas.relational import JobRun, Rule
from spark_app.config import load_config
from spark_app.daily.job import STEPS, InjectedFailure, run_day
from spark_app.relational import create_tables
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


def pending_state(cassandra):
    pending = sorted(tuple(row) for row in cassandra.execute(
        "SELECT as_of, shard, rule_id, serial_number, ts, tag, received_day FROM pending_faults"))
    generations = sorted((row.as_of, row.horizon_days, tuple(sorted(row.rule_fingerprints.items())))
                         for row in cassandra.execute(
                             "SELECT as_of, horizon_days, rule_fingerprints FROM pending_generations"))
    return pending, generations


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
        snapshots.append((stored_violations(engine), pending_state(cassandra)))
    run_day(spark, config, last)  # and once more after a success
    snapshots.append((stored_violations(engine), pending_state(cassandra)))
    assert all(snapshot == snapshots[0] for snapshot in snapshots[1:])
    without_tti = [name for name in RULES if "tti" not in RULES[name][1]]
    assert stored_violations(engine, {ids[n] for n in without_tti}) == \
        expected_violations(faults, ids, without_tti)
    with Session(engine) as session:
        statuses = [run.status for run in session.scalars(
            select(JobRun).where(JobRun.day == last).order_by(JobRun.started_at))]
    assert statuses.count("failed") == len(STEPS) - 1  # a crash after "record" leaves it recorded
    assert statuses.count("succeeded") >= len(STEPS) + 1


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
    from spark_app.daily import frames

    rules = frames.rule_map(spark, [("JAP", "#A", 1), ("JAP", "#B", 1)])
    joined = frames.relevant_faults(frames.faults_received(spark, config, [FIRST_DAY]), rules)
    plan = joined._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan, plan
    assert '"day" IN' in plan or '"day" = ?' in plan, plan
