"""Rule versions and evidence through the daily job on real Cassandra, Spark
and SQLite: an edit keeps the old violations as they were, the new version's
appear from the next run (the recent past seen again), tti continues across
versions; every stored violation's witness yields it; `violations explain`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from rules.parser import parse_rule
from schemas.faults import Fault
from schemas.relational import Violation
from spark_app.common.config import load_config
from spark_app.common.relational import create_tables, engine_for_url
from spark_app.daily.job import run_day
from spark_app.daily.rule_store import RuleStore
from tests.support import oracle
from tests.support.daily_data import (
    SHARDS,
    make_bursts,
    make_faults,
    received_days,
    write_faults,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path, cassandra):
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    url = f"sqlite:///{tmp_path / 'versions.db'}"
    engine = engine_for_url(url)
    create_tables(engine)
    config = load_config(environ={**os.environ, "FLEETWATCH_DATABASE_URL": url})
    return config, engine, RuleStore(engine)


def rows(engine, rule_id):
    with engine.connect() as connection:
        return {(serial, _ms(ts), version, evidence, run) for serial, ts, version, evidence, run in
                connection.execute(select(Violation.serial_number, Violation.ts,
                                          Violation.rule_version, Violation.evidence,
                                          Violation.run_id).where(Violation.rule_id == rule_id))}


def _ms(value: datetime) -> int:
    return (value.replace(tzinfo=UTC) - EPOCH) // timedelta(milliseconds=1)


def test_an_edit_keeps_the_old_violations_and_the_new_version_finds_from_the_next_run(
        spark, store, cassandra):
    config, engine, rules = store
    pair = rules.add("JAP", "#A E:60 #B", "pair")
    ttied = rules.add("JAP", "(#A E:20m #B) OU #E tti:15m", "tti")
    faults = make_faults(seed=29, days=5, late=True) + make_bursts(seed=29, days=5)
    write_faults(cassandra, config, faults)
    days = received_days(faults)
    for day in days[:3]:
        run_day(spark, config, day)
    before = rows(engine, pair)
    assert before and {version for _, _, version, _, _ in before} == {1}

    assert rules.edit(pair, expression="#A E:10m #B").version == 2
    assert rules.edit(ttied, expression="(#A E:20m #B) OU #E OU #C tti:15m").version == 2
    for day in days[3:]:
        run_day(spark, config, day)
    after = rows(engine, pair)
    assert before <= after  # the old rows stay exactly as they were, version 1
    new = after - before
    assert new and {version for _, _, version, _, _ in new} == {2}
    # The new version saw the recent past again: with the old rows (at instants
    # it also yields, kept as they were), it stored its one-shot result.
    everything = [(f.serial_number, f.tag, _ms(f.ts)) for f in faults if f.model == "JAP"]
    assert {(s, t) for s, t, *_ in after} == oracle.violations_by_serial(
        parse_rule("#A E:10m #B"), everything)
    # tti continues across versions: never two violations of a rule and serial closer than n.
    by_serial: dict[str, list[int]] = {}
    for serial, instant, *_ in rows(engine, ttied):
        by_serial.setdefault(serial, []).append(instant)
    for instants in by_serial.values():
        instants.sort()
        assert all(b - a >= 15 * 60_000 for a, b in zip(instants, instants[1:], strict=False))
    assert [v.version for v in rules.history(pair)] == [1, 2]
    # Every violation's witness alone yields it under the version that found it.
    for rule_id in (pair, ttied):
        texts = {v.version: parse_rule(v.expression) for v in rules.history(rule_id)}
        for serial, instant, version, evidence, _ in rows(engine, rule_id):
            witness = [(tag, t) for tag, t in json.loads(evidence)]
            assert instant in oracle.instants(texts[version].expr, witness)
            assert set(witness) <= {(tag, t) for s, tag, t in everything if s == serial}


def fleetwatch(url, *args):
    return subprocess.run([sys.executable, "-m", "spark_app.cli", *args], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "FLEETWATCH_DATABASE_URL": url})


def test_explain_prints_the_version_text_and_its_witness(spark, store, cassandra):
    config, engine, rules = store
    rule = rules.add("JAP", "#1.168.861.4 E:1h #1.174.456.29 tti:1d")
    t0 = datetime(2016, 11, 16, 12, 40, tzinfo=UTC)
    write_faults(cassandra, config, [
        Fault.of("JAP7", "JAP", "#1.168.861.4", t0, t0, SHARDS),
        Fault.of("JAP7", "JAP", "#1.168.861.4", t0 + timedelta(minutes=10),
                 t0 + timedelta(minutes=10), SHARDS),
        # received the next day: the witness spans two runs' inputs
        Fault.of("JAP7", "JAP", "#1.174.456.29", t0 + timedelta(minutes=30),
                 t0 + timedelta(days=1), SHARDS)])
    run_day(spark, config, date(2016, 11, 16))
    run_day(spark, config, date(2016, 11, 17))
    with engine.connect() as connection:
        (violation_id,) = connection.execute(select(Violation.id)).scalars().all()
    rules.edit(rule, expression="#1.168.861.4 E:2h #1.174.456.29 tti:1d")
    url = str(engine.url)
    as_json = json.loads(fleetwatch(url, "violations", "explain", str(violation_id),
                                    "--format", "json").stdout)
    assert as_json == {
        "violation": {"id": violation_id, "rule_id": rule, "rule_version": 1,
                      "serial_number": "JAP7", "timestamp": "2016-11-16T13:10:00.000Z",
                      "expression": "#1.168.861.4 E:1h #1.174.456.29 tti:1d"},
        "faults": [{"tag": "#1.168.861.4", "timestamp": "2016-11-16T12:40:00.000Z"},
                   {"tag": "#1.174.456.29", "timestamp": "2016-11-16T13:10:00.000Z"}]}
    table = fleetwatch(url, "violations", "explain", str(violation_id)).stdout
    assert table.splitlines()[:2] == [
        f"violation {violation_id}: rule {rule} version 1, serial JAP7, at "
        "2016-11-16T13:10:00.000Z",
        "rule: #1.168.861.4 E:1h #1.174.456.29 tti:1d"]
    assert ("  #1.168.861.4 E:1h #1.174.456.29: #1.168.861.4 at 2016-11-16T12:40:00.000Z, "
            "#1.174.456.29 at 2016-11-16T13:10:00.000Z: 30m apart, within 1h") in table
    assert ("  tti:1d: kept; no earlier violation of this rule and serial is stored"
            in table)
    missing = fleetwatch(url, "violations", "explain", "424242")
    assert missing.returncode == 2 and "no violation with id 424242" in missing.stderr
