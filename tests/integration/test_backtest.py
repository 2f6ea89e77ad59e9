"""`fleetwatch rules backtest` on real Cassandra, Spark and SQLite: one
evaluation over the faults received in the window equals the brute-force
oracle for every rule shape, late arrivals included; it equals what the daily
job stored; it reads only the window's partitions; nothing is written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from rules.parser import parse_rule
from schemas.faults import Fault
from schemas.relational import JobRun, Violation
from spark_app.common.config import load_config
from spark_app.common.relational import create_tables, engine_for_url
from spark_app.daily.backtest import Backtest, diff, run_backtest, stored_violations_of_runs
from spark_app.daily.job import run_day
from spark_app.daily.rule_store import RuleStore
from tests.support import oracle
from tests.support.daily_data import (
    RULES,
    SHARDS,
    make_bursts,
    make_faults,
    received_days,
    write_faults,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def history(tmp_path, cassandra):
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    url = f"sqlite:///{tmp_path / 'backtest.db'}"
    config = load_config(environ={**os.environ, "FLEETWATCH_DATABASE_URL": url})
    engine = engine_for_url(url)
    create_tables(engine)
    store = RuleStore(engine)
    ids = {name: store.add(model, expression, name) for name, (model, expression) in RULES.items()}
    faults = make_faults(seed=23, days=6, late=True) + make_bursts(seed=23, days=6)
    write_faults(cassandra, config, faults)
    return config, engine, ids, faults


def _ms(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)


def _oracle(faults, model, expression, first_day, last_day) -> set[tuple[str, int]]:
    """RULES.md, brute force, once over the faults of `model` received in the window."""
    window = [(f.serial_number, f.tag, _ms(f.ts)) for f in faults
              if f.model == model and first_day <= f.day <= last_day]
    return oracle.violations_by_serial(parse_rule(expression), window)


def _found(result) -> set[tuple[str, int]]:
    rows = list(result.violations.itertuples(index=False, name=None))
    assert rows == sorted(rows)
    return set(rows)


def test_a_backtest_is_one_evaluation_over_the_window(spark, history):
    config, _, _, faults = history
    days = received_days(faults)
    first, last = days[1], days[4]
    late = [f for f in faults if f.day > f.ts.date() and first <= f.day <= last]
    assert late, "some faults of the window should arrive days after they occurred"
    for name, (model, expression) in RULES.items():
        read = []
        result = run_backtest(spark, config, Backtest(parse_rule(expression), model, first, last),
                              on_days_read=read.append)
        want = _oracle(faults, model, expression, first, last)
        assert _found(result) == want, name
        relevant = [f for f in faults if f.model == model and first <= f.day <= last
                    and f.tag in parse_rule(expression).tags]
        assert result.faults_read == len(relevant), name
        assert read[-1] == 4 and read == sorted(set(read)), (name, read)
    assert sum(len(_oracle(faults, m, e, first, last)) for m, e in RULES.values()) > 50


def test_a_backtest_reads_the_window_once_in_one_pass(spark, history):
    """One job over all the days (its read stage one task per day), not a job per
    day then another over their cached union."""
    config, _, _, _ = history
    context = spark.sparkContext
    tracker = context.statusTracker()

    def marker(group):  # the ids of a trivial job's (or two, adaptive) around the backtest
        context.setJobGroup(group, group)
        spark.range(1).count()
        context.setLocalProperty("spark.jobGroup.id", None)
        return tracker.getJobIdsForGroup(group)

    model, expression = RULES["pair"]
    before = max(marker("before the backtest"))
    read = []
    run_backtest(spark, config, Backtest(parse_rule(expression), model, date(2016, 11, 14),
                                         date(2016, 11, 19)), on_days_read=read.append)
    after = min(marker("after the backtest"))
    jobs = [tracker.getJobInfo(job) for job in range(before + 1, after)]
    stages = sorted(stage for job in jobs for stage in job.stageIds)
    assert len(jobs) <= 2, [(job.jobId, list(job.stageIds)) for job in jobs]
    assert tracker.getStageInfo(stages[0]).numTasks == 6  # the read: one task per day
    assert read[-1] == 6


def test_a_backtest_equals_what_the_daily_job_stored(spark, history):
    config, engine, ids, faults = history
    days = received_days(faults)
    for day in days:
        run_day(spark, config, day)
    stored_before = _violation_count(engine)
    compared = 0
    for name in ("pair", "nested", "chain", "other model", "self pair"):
        model, expression = RULES[name]
        result = run_backtest(spark, config,
                              Backtest(parse_rule(expression), model, days[0], days[-1]))
        changes = diff(result.violations, stored_violations_of_runs(
            engine, ids[name], days[0], days[-1]))
        assert len(changes) and set(changes["change"]) == {"unchanged"}, name
        compared += len(changes)
    assert compared > 30
    assert _violation_count(engine) == stored_before  # nothing written


def test_against_shows_what_a_draft_adds_and_removes(spark, history):
    config, engine, ids, faults = history
    days = received_days(faults)
    for day in days:
        run_day(spark, config, day)
    model, _ = RULES["pair"]
    draft = "#A E:30 #B"  # a narrower window: finds a subset of the pair rule's violations
    result = run_backtest(spark, config, Backtest(parse_rule(draft), model, days[0], days[-1]))
    stored = stored_violations_of_runs(engine, ids["pair"], days[0], days[-1])
    changes = diff(result.violations, stored)
    want_kept = _oracle(faults, model, draft, days[0], days[-1])
    unchanged = {(s, t) for s, t, c in changes.itertuples(index=False, name=None)
                 if c == "unchanged"}
    removed = {(s, t) for s, t, c in changes.itertuples(index=False, name=None) if c == "removed"}
    assert unchanged == want_kept
    assert removed == _oracle(faults, model, RULES["pair"][1], days[0], days[-1]) - want_kept
    assert removed and "added" not in set(changes["change"])
    # the runs of the last two days alone found only part of the stored violations
    assert len(stored_violations_of_runs(engine, ids["pair"], days[-2], days[-1])) < len(stored)


def test_the_window_is_read_by_partition_key_and_model(spark, config):
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import faults_received

    frame = (faults_received(spark, config, [date(2016, 11, 14), date(2016, 11, 15)])
             .where((F.col("model") == "JAP") & F.col("tag").isin(["#A", "#B"])))
    plan = frame._jdf.queryExecution().executedPlan().toString()
    assert '"day" IN' in plan or '"day" = ?' in plan, plan
    assert '"model" = ?' in plan, plan


def _violation_count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Violation)).scalar_one()


def fleetwatch(config_env, *args):
    return subprocess.run([sys.executable, "-m", "spark_app.cli", *args], capture_output=True,
                          text=True, timeout=600, env={**os.environ, **config_env})


def test_a_broken_draft_exits_2_with_its_column_before_spark(tmp_path):
    began = time.monotonic()
    refused = fleetwatch({"FLEETWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}"},
                         "rules", "backtest", "#1.168.861.4 E:1h", "--model", "JAP",
                         "--from", "2016-11-14", "--to", "2016-11-20")
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("invalid rule: column 18:"), refused.stderr
    assert "days read" not in refused.stderr and refused.stdout == ""
    assert time.monotonic() - began < 30  # no Spark session (that alone takes longer here)
    both = fleetwatch({}, "rules", "backtest", "#A", "--rule", "1", "--from", "2016-11-14",
                      "--to", "2016-11-20")
    assert both.returncode == 2 and "--rule ID" in both.stderr
    backwards = fleetwatch({}, "rules", "backtest", "#A", "--model", "JAP",
                           "--from", "2016-11-20", "--to", "2016-11-14")
    assert backwards.returncode == 2 and "--from" in backwards.stderr


def test_the_command_prints_csv_and_the_diff(cassandra, tmp_path):
    """Through the console script: CSV sorted by serial and time, ISO 8601 UTC
    with milliseconds, a `change` column against a stored rule; progress and
    cost on stderr."""
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = engine_for_url(url)
    create_tables(engine)
    stored = RuleStore(engine).add("JAP", "#A E:1m #B")
    config = load_config(environ={**os.environ, "FLEETWATCH_DATABASE_URL": url})
    t0 = datetime(2016, 11, 14, 8, 0, tzinfo=UTC)
    rows = [("JAP2", "#A", t0), ("JAP2", "#B", t0 + timedelta(seconds=50, milliseconds=5)),
            ("JAP1", "#A", t0 + timedelta(hours=1)), ("JAP1", "#B", t0 + timedelta(hours=1)),
            ("JAP1", "#B", t0 + timedelta(days=1, seconds=30)),  # received on the 16th
            ("KOM1", "#B", t0)]  # another model
    write_faults(cassandra, config, [
        Fault.of(serial, serial[:3], tag, ts, ts + (timedelta(hours=20) if ts.day == 15
                                                     else timedelta(0)), SHARDS)
        for serial, tag, ts in rows] + [
        Fault.of("JAP1", "JAP", "#A", t0 + timedelta(days=1), t0 + timedelta(days=2), SHARDS)])
    for day in (date(2016, 11, 14), date(2016, 11, 15)):
        with engine.begin() as connection:
            connection.execute(JobRun.__table__.insert().values(
                run_id=f"run-{day}", day=day, started_at=datetime(2016, 11, 20),
                status="succeeded"))
    with engine.begin() as connection:
        connection.execute(Violation.__table__.insert().values(
            rule_id=stored, serial_number="JAP1", ts=datetime(2016, 11, 14, 9),
            detected_at=datetime(2016, 11, 15), run_id="run-2016-11-14"))
        connection.execute(Violation.__table__.insert().values(
            rule_id=stored, serial_number="JAP3", ts=datetime(2016, 11, 14, 10),
            detected_at=datetime(2016, 11, 15), run_id="run-2016-11-15"))
    env = {"FLEETWATCH_DATABASE_URL": url}
    plain = fleetwatch(env, "rules", "backtest", "#A E:1m #B", "--model", "JAP",
                       "--from", "2016-11-14", "--to", "2016-11-15", "--format", "csv")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines() == [
        "serial_number,timestamp",
        "JAP1,2016-11-14T09:00:00.000Z",
        "JAP2,2016-11-14T08:00:50.005Z"]
    assert "read 4 faults of model JAP received 2016-11-14 to 2016-11-15 in" in plain.stderr
    # The late #B pairs with the #A received on the 16th, outside the window:
    # with the 16th in it, one violation more.
    against = fleetwatch(env, "rules", "backtest", "--rule", str(stored), "--from", "2016-11-14",
                         "--to", "2016-11-16", "--against", str(stored), "--format", "csv")
    assert against.returncode == 0, against.stderr
    assert against.stdout.splitlines() == [
        "serial_number,timestamp,change",
        "JAP1,2016-11-14T09:00:00.000Z,unchanged",
        "JAP1,2016-11-15T08:00:30.000Z,added",
        "JAP2,2016-11-14T08:00:50.005Z,added",
        "JAP3,2016-11-14T10:00:00.000Z,removed"]
    table = fleetwatch(env, "rules", "backtest", "--rule", str(stored), "--from", "2016-11-14",
                       "--to", "2016-11-16", "--against", str(stored))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[1].split() == ["day", "violations", "serials"]
    assert lines[2].split() == ["2016-11-14", "2", "2"]
    assert lines[3].split() == ["2016-11-15", "1", "1"]
    assert lines[-1] == f"against rule {stored}: 2 added, 1 removed, 1 unchanged"
    assert "days read" in table.stderr
