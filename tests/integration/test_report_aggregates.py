"""The aggregates behind each chart of the fleet report, against literal tables:
the SQL ones on SQLite and PostgreSQL, the Spark ones on literal DataFrames."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from spark_app.report import relational
from tests.support.report_data import PERIOD, seed_relational


@pytest.fixture
def seeded(engine):
    seed_relational(engine)
    with engine.connect() as connection:
        yield connection


def test_violations_per_day_by_severity(seeded):
    assert relational.violations_per_day(seeded, PERIOD) == [
        {"day": date(2016, 11, 15), "severity": "critical", "violations": 1},
        {"day": date(2016, 11, 16), "severity": "critical", "violations": 1},
        {"day": date(2016, 11, 16), "severity": "warning", "violations": 1},
        {"day": date(2016, 11, 17), "severity": "info", "violations": 1},
        {"day": date(2016, 11, 17), "severity": "warning", "violations": 1}]


def test_top_rules_new_against_still_open_from_before(seeded):
    assert relational.top_rules(seeded, PERIOD, 10) == [
        {"rule_id": 1, "model": "JAP", "severity": "critical", "label": "#1 JAP: code A",
         "new": 2, "already_open": 1},
        {"rule_id": 2, "model": "JAP", "severity": "warning", "label": "#2 JAP: #B OU #C",
         "new": 2, "already_open": 1},
        {"rule_id": 3, "model": "KOM", "severity": "info", "label": "#3 KOM: code D",
         "new": 1, "already_open": 0}]
    assert [row["rule_id"] for row in relational.top_rules(seeded, PERIOD, 2)] == [1, 2]


def test_states_per_site_and_model(seeded):
    assert relational.states_per_site_model(seeded, PERIOD) == [
        {"site": "(no site)", "model": "JAP", "state": "acknowledged", "violations": 1},
        {"site": "Carajás", "model": "JAP", "state": "open", "violations": 2},
        {"site": "Carajás", "model": "JAP", "state": "resolved", "violations": 1},
        {"site": "Itabira", "model": "KOM", "state": "open", "violations": 1}]


def test_serials_with_most_open_violations_and_their_lists(seeded):
    assert relational.top_open_serials(seeded, PERIOD, 10) == [
        {"serial_number": "JAP001", "site": "Carajás", "open": 3,
         "last_ts": datetime(2016, 11, 16, 12)},
        {"serial_number": "KOM001", "site": "Itabira", "open": 1,
         "last_ts": datetime(2016, 11, 17)}]
    listed = relational.open_violations_of(seeded, PERIOD, ["JAP001", "JAP002"], 2)
    assert {serial: [row["id"] for row in rows] for serial, rows in listed.items()} == {
        "JAP001": [5, 3], "JAP002": []}
    assert listed["JAP001"][0] == {"id": 5, "rule_id": 2, "severity": "warning",
                                   "description": None, "ts": datetime(2016, 11, 16, 12),
                                   "detected_at": datetime(2016, 11, 19)}


def test_daily_runs_latest_of_each_day_with_stages(seeded):
    assert relational.daily_runs(seeded, PERIOD) == [
        {"day": date(2016, 11, 15), "run_id": "r2", "status": "succeeded", "duration_s": 42.5,
         "faults_read": 4000, "pending_read": 300, "violations_new": 2,
         "stages": {"read faults of D and pending faults, evaluate rules": 25.25,
                    "upsert violations of D": 4.5},
         "rules_skipped": [{"rule_id": 9, "reason": "line 1, column 3: unexpected token"}]},
        {"day": date(2016, 11, 17), "run_id": "r3", "status": "running", "duration_s": None,
         "faults_read": None, "pending_read": None, "violations_new": None, "stages": {},
         "rules_skipped": []}]
    assert relational.latest_run_day(seeded) == date(2016, 11, 17)


def test_breach_episodes_overlapping_the_period(seeded):
    episodes = relational.breach_episodes(seeded, PERIOD, 10)
    assert [(e["equipment_id"], e["started_at"], e["ended_at"], e["peak_average_c"],
             e["silenced"]) for e in episodes] == [
        ("EQ-2", datetime(2016, 11, 17, 10), None, 131.0, True),
        ("EQ-1", datetime(2016, 11, 14, 22), datetime(2016, 11, 15, 1), 118.5, False)]


REJECTS = [  # source, position, reason, refused at
    ("f1", 1, "ts is not an ISO 8601 timestamp: 'abc'", datetime(2016, 11, 15, 10)),
    ("f1", 2, "ts is not an ISO 8601 timestamp: 'x:y'", datetime(2016, 11, 15, 23, 59, 59)),
    ("f1", 3, "not valid JSON: Expecting value: line 1 column 1 (char 0)", datetime(2016, 11, 16)),
    ("f2", 0, "page refused: not well-formed (invalid token): line 3, column 2",
     datetime(2016, 11, 17, 5)),
    ("f2", 4, "line longer than ingest.max_record_bytes (8192 bytes)", datetime(2016, 11, 17, 6)),
    ("f2", 5, "code must be at most 65535, got 70000", datetime(2016, 11, 17, 7)),
    ("f3", 1, "not valid JSON: x", datetime(2016, 11, 14, 23, 59, 59)),  # before the period
    ("f3", 2, "code must be at most 65535, got 1e9", datetime(2016, 11, 18)),  # after it
]


@pytest.fixture
def rejects(spark):
    return spark.createDataFrame(
        [(source, position, reason, "{}", at) for source, position, reason, at in REJECTS],
        "source string, position int, reason string, payload string, rejected_at timestamp")


def test_rejects_per_day(rejects):
    from spark_app.report import cassandra

    assert cassandra.rejects_per_day(rejects, PERIOD) == [
        {"day": date(2016, 11, 15), "rejects": 2}, {"day": date(2016, 11, 16), "rejects": 1},
        {"day": date(2016, 11, 17), "rejects": 3}]


def test_rejects_by_kind_of_reason(rejects):
    from spark_app.report import cassandra

    assert cassandra.rejects_by_reason(rejects, PERIOD, 10) == [
        {"reason": "ts is not an ISO N timestamp", "rejects": 2},
        {"reason": "code must be at most N", "rejects": 1},
        {"reason": "line longer than ingest.max_record_bytes (N bytes)", "rejects": 1},
        {"reason": "not valid JSON", "rejects": 1},
        {"reason": "page refused", "rejects": 1}]
    assert len(cassandra.rejects_by_reason(rejects, PERIOD, 2)) == 2


def test_window_averages_of_the_equipment_closest_to_their_threshold(spark):
    from spark_app.report import cassandra

    def window(equipment, model, start, avg_c, max_c):
        return (equipment, start, start.replace(minute=start.minute + 10), model, avg_c, max_c, 60)

    windows = spark.createDataFrame([
        window("EQ-A", "CAT", datetime(2016, 11, 17, 10, 0), 100.0, 105.0),
        window("EQ-A", "CAT", datetime(2016, 11, 17, 10, 1), 104.0, 109.0),
        window("EQ-A", "CAT", datetime(2016, 11, 17, 11, 0), 90.0, 95.0),
        window("EQ-B", "CAT", datetime(2016, 11, 17, 10, 0), 120.0, 125.0),
        window("EQ-C", None, datetime(2016, 11, 17, 10, 30), 50.0, 60.0),
        window("EQ-D", "KOM", datetime(2016, 11, 17, 12, 0), 115.0, 118.0)],
        "equipment_id string, window_start timestamp, window_end timestamp, model string, "
        "avg_c double, max_c double, readings bigint")
    thresholds = spark.createDataFrame(
        [("EQ-A", None, 95.0), (None, "CAT", 130.0), ("EQ-X", None, 10.0)],
        "equipment_id string, model string, threshold_c double")
    # margins: EQ-A 104-95 = 9, EQ-D 115-110 (default) = 5, EQ-B 120-130 = -10, EQ-C -60
    assert cassandra.window_averages(windows, thresholds, 110.0, 2) == [
        {"equipment_id": "EQ-A", "hour": "2016-11-17T10:00:00Z", "avg_c": 102.0,
         "max_c": 109.0, "threshold_c": 95.0},
        {"equipment_id": "EQ-A", "hour": "2016-11-17T11:00:00Z", "avg_c": 90.0,
         "max_c": 95.0, "threshold_c": 95.0},
        {"equipment_id": "EQ-D", "hour": "2016-11-17T12:00:00Z", "avg_c": 115.0,
         "max_c": 118.0, "threshold_c": 110.0}]
    assert [row["equipment_id"] for row in cassandra.window_averages(
        windows, thresholds, 110.0, 3)] == ["EQ-A", "EQ-A", "EQ-B", "EQ-D"]
