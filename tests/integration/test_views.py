"""The analyst views and `fleetwatch violations`, on SQLite and PostgreSQL."""

import json
import os
import subprocess
import sys
from datetime import datetime

from sqlalchemy import create_engine, insert, text

from schemas.relational import Rule, Violation
from spark_app.common.relational import create_tables

VIOLATIONS = [  # rule, serial, instant
    (1, "JAP00100", datetime(2016, 11, 16, 13, 0, 0)),
    (1, "JAP00100", datetime(2016, 11, 16, 13, 2, 30, 5000)),
    (1, "JAP00200", datetime(2016, 11, 17, 8, 0, 0)),
    (2, "JAP00100", datetime(2016, 11, 17, 9, 0, 0, 250000)),
    (3, "KOM00001", datetime(2016, 11, 17, 23, 59, 59, 999000)),
]


def seeded_engine(db_url):
    engine = create_engine(db_url)
    create_tables(engine)
    create_tables(engine)  # twice: nothing changes, nothing fails
    with engine.begin() as connection:
        connection.execute(insert(Rule), [
            {"model": "JAP", "expression": "#A E:60 #B"},
            {"model": "JAP", "expression": "#C"},
            {"model": "KOM", "expression": "#D tti:1h"},
            {"model": "KOM", "expression": "#E"},
        ])
        connection.execute(insert(Violation), [
            {"rule_id": r, "serial_number": s, "ts": t, "detected_at": datetime(2016, 11, 18),
             "run_id": "r1"} for r, s, t in VIOLATIONS])
    return engine


def test_views(db_url):
    engine = seeded_engine(db_url)
    with engine.connect() as connection:
        per_day = connection.execute(text(
            "SELECT day, violations, serials, rules FROM violations_per_day ORDER BY day")).all()
        per_rule = connection.execute(text(
            "SELECT rule_id, violations, serials FROM violations_per_rule ORDER BY rule_id")).all()
        per_model = connection.execute(text(
            "SELECT model, violations, serials, rules FROM violations_per_model ORDER BY model")).all()
        top = connection.execute(text(
            "SELECT serial_number, violations, rules FROM violations_per_serial "
            "ORDER BY violations DESC, serial_number")).all()
    assert [(str(d)[:10], v, s, r) for d, v, s, r in per_day] == [
        ("2016-11-16", 2, 1, 1), ("2016-11-17", 3, 3, 3)]
    assert [tuple(row) for row in per_rule] == [(1, 3, 2), (2, 1, 1), (3, 1, 1), (4, 0, 0)]
    assert [tuple(row) for row in per_model] == [("JAP", 4, 2, 2), ("KOM", 1, 1, 2)]
    assert [tuple(row) for row in top] == [("JAP00100", 3, 2), ("JAP00200", 1, 1),
                                           ("KOM00001", 1, 1)]


def violations_cli(db_url, *args):
    return subprocess.run([sys.executable, "-m", "spark_app.cli", "violations", *args],
                          capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "FLEETWATCH_DATABASE_URL": db_url}).stdout


def test_violations_command(db_url):
    seeded_engine(db_url).dispose()
    assert violations_cli(db_url, "--format", "csv").splitlines() == [
        "rule_id,serial_number,timestamp",
        "1,JAP00100,2016-11-16T13:00:00.000Z",
        "1,JAP00100,2016-11-16T13:02:30.005Z",
        "1,JAP00200,2016-11-17T08:00:00.000Z",
        "2,JAP00100,2016-11-17T09:00:00.250Z",
        "3,KOM00001,2016-11-17T23:59:59.999Z",
    ]
    assert violations_cli(db_url, "--format", "csv", "--day", "2016-11-17", "--serial",
                          "JAP00100").splitlines()[1:] == ["2,JAP00100,2016-11-17T09:00:00.250Z"]
    as_json = json.loads(violations_cli(db_url, "--format", "json", "--rule", "3"))
    # the JSON also carries the id, the rule version and lifecycle state, severity, site, team
    assert as_json == [{"id": 5, "rule_id": 3, "rule_version": 1, "model": "KOM",
                        "severity": "warning", "serial_number": "KOM00001",
                        "timestamp": "2016-11-17T23:59:59.999Z",
                        "detected_at": "2016-11-18T00:00:00.000Z", "site": None, "team": None,
                        "state": "open", "silenced": False}]
    assert "(5 violations)" in violations_cli(db_url)
