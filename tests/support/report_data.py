"""Literal relational rows for the fleet report's tests, around one period."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import insert

from schemas.relational import (
    Equipment,
    JobRun,
    Rule,
    TemperatureBreach,
    Violation,
    ViolationState,
)
from spark_app.report.relational import Period

PERIOD = Period(date(2016, 11, 15), date(2016, 11, 17))

VIOLATIONS = [  # id, rule, serial, instant, state (None: no row, so open)
    (1, 1, "JAP001", datetime(2016, 11, 10, 8), None),  # before the period, open
    (2, 1, "JAP001", datetime(2016, 11, 12, 9), "resolved"),  # before, resolved
    (3, 1, "JAP001", datetime(2016, 11, 15, 10), None),
    (4, 1, "JAP002", datetime(2016, 11, 16, 11), "acknowledged"),
    (5, 2, "JAP001", datetime(2016, 11, 16, 12), "open"),
    (6, 2, "JAP001", datetime(2016, 11, 17, 23, 59, 59, 999000), "resolved"),
    (7, 3, "KOM001", datetime(2016, 11, 17), None),
    (8, 3, "KOM001", datetime(2016, 11, 18), None),  # after the period
    (9, 2, "JAP002", datetime(2016, 11, 14, 23, 59, 59), "acknowledged"),  # before
]

STAGES = json.dumps([
    {"stage_id": 1, "description": "read faults of 2016-11-15 and pending faults, evaluate rules",
     "duration_s": 20.25},
    {"stage_id": 2, "description": "read faults of 2016-11-15 and pending faults, evaluate rules",
     "duration_s": 5.0},
    {"stage_id": 3, "description": "upsert violations of 2016-11-15", "duration_s": 4.5},
    {"error": "stage metrics unavailable: timed out"},
])
SKIPPED = json.dumps([{"rule_id": 9, "reason": "line 1, column 3: unexpected token"}])


def _insert(connection, table, rows):
    for row in rows:  # one by one: the rows do not all name the same columns
        connection.execute(insert(table).values(**row))


def seed_relational(engine) -> None:
    """Rules, equipment, violations in every state, runs and breach episodes around
    PERIOD (test_report_aggregates.py holds what each aggregate makes of them)."""
    with engine.begin() as connection:
        _insert(connection, Rule, [
            {"model": "JAP", "expression": "#A", "description": "code A", "severity": "critical"},
            {"model": "JAP", "expression": "#B OU #C", "severity": "warning"},
            {"model": "KOM", "expression": "#D", "description": "code D", "severity": "info"}])
        _insert(connection, Equipment, [
            {"serial_number": "JAP001", "model": "JAP", "site": "Carajás", "team": "north"},
            {"serial_number": "KOM001", "model": "KOM", "site": "Itabira", "team": "south"}])
        _insert(connection, Violation, [
            {"id": vid, "rule_id": rule, "serial_number": serial, "ts": ts,
             "detected_at": datetime(2016, 11, 19), "run_id": "r"}
            for vid, rule, serial, ts, _ in VIOLATIONS])
        _insert(connection, ViolationState, [
            {"violation_id": vid, "state": state,
             "resolved_at": datetime(2016, 11, 19) if state == "resolved" else None,
             "resolution": "repaired" if state == "resolved" else None}
            for vid, _, _, _, state in VIOLATIONS if state])
        _insert(connection, JobRun, [
            {"run_id": "r0", "day": date(2016, 11, 14), "status": "succeeded",
             "started_at": datetime(2016, 11, 15, 0, 30), "finished_at": datetime(2016, 11, 15, 0, 31),
             "faults_read": 1},
            {"run_id": "r1", "day": date(2016, 11, 15), "status": "failed",
             "started_at": datetime(2016, 11, 16, 0, 30), "finished_at": datetime(2016, 11, 16, 0, 31)},
            {"run_id": "r2", "day": date(2016, 11, 15), "status": "succeeded",
             "started_at": datetime(2016, 11, 16, 1), "finished_at": datetime(2016, 11, 16, 1, 0, 42, 500000),
             "faults_read": 4000, "pending_read": 300, "violations_new": 2,
             "stage_metrics": STAGES, "rules_skipped": SKIPPED},
            {"run_id": "r3", "day": date(2016, 11, 17), "status": "running",
             "started_at": datetime(2016, 11, 18, 0, 30)}])
        _insert(connection, TemperatureBreach, [
            {"equipment_id": "EQ-1", "model": "CAT", "threshold_c": 110.0,
             "started_at": datetime(2016, 11, 14, 22), "ended_at": datetime(2016, 11, 15, 1),
             "peak_average_c": 118.5, "emails_sent": 2},
            {"equipment_id": "EQ-2", "model": None, "threshold_c": 100.0,
             "started_at": datetime(2016, 11, 17, 10), "ended_at": None,
             "peak_average_c": 131.0, "emails_sent": 1, "silenced": True},
            {"equipment_id": "EQ-3", "model": "CAT", "threshold_c": 110.0,
             "started_at": datetime(2016, 11, 13), "ended_at": datetime(2016, 11, 14),
             "peak_average_c": 112.0},
            {"equipment_id": "EQ-4", "model": "CAT", "threshold_c": 110.0,
             "started_at": datetime(2016, 11, 18), "ended_at": None, "peak_average_c": 115.0}])


SITES = ("Carajás", "Itabira", "Mariana")


def seed_fleet(engine, last: date, days: int, seed: int = 19) -> None:
    """A few weeks of a small fleet ending on `last`: rules of every severity, sites,
    violations in every state, a run per day with its stages, breach episodes; made
    at random (seeded), for the page's look rather than for exact numbers."""
    import random
    from datetime import timedelta

    chance = random.Random(seed)
    with engine.begin() as connection:
        rule_ids = [connection.execute(insert(Rule).values(
            model=model, expression=expression, description=description, severity=severity))
            .inserted_primary_key[0] for model, expression, description, severity in (
                ("CAT", "#110 E:6h #111", "oil pressure low twice", "critical"),
                ("CAT", "#120", "coolant level", "warning"),
                ("KOM", "#201 OU #202", "hydraulic filter", "warning"),
                ("KOM", "#230 E:1d #231 tti:1d", "transmission slip", "critical"),
                ("VOL", "#300", "seat belt", "info"))]
        serials = [f"{model}{n:04d}" for model in ("CAT", "KOM", "VOL") for n in range(12)]
        _insert(connection, Equipment, [
            {"serial_number": serial, "model": serial[:3], "site": SITES[n % 3],
             "team": f"team {n % 3}"} for n, serial in enumerate(serials) if n % 7])
        first = last - timedelta(days=days - 1)
        violation_rows, run_rows = [], []
        for offset in range(days):
            day = first + timedelta(days=offset)
            for _ in range(chance.randint(5, 40)):
                rule = chance.randrange(len(rule_ids))
                serial = chance.choice(serials[rule // 2 * 12:(rule // 2 + 1) * 12])
                violation_rows.append({
                    "rule_id": rule_ids[rule], "serial_number": serial,
                    "ts": datetime.combine(day, datetime.min.time())
                    + timedelta(seconds=chance.randrange(86_400)),
                    "detected_at": datetime.combine(day + timedelta(days=1),
                                                    datetime.min.time()), "run_id": f"run-{day}"})
            read, evaluate, upsert = (chance.uniform(4, 9), chance.uniform(10, 30),
                                      chance.uniform(1, 4))
            run_rows.append({
                "run_id": f"run-{day}", "day": day, "status": "succeeded",
                "started_at": datetime.combine(day + timedelta(days=1), datetime.min.time())
                + timedelta(minutes=30),
                "finished_at": datetime.combine(day + timedelta(days=1), datetime.min.time())
                + timedelta(minutes=30, seconds=read + evaluate + upsert + 6),
                "faults_read": chance.randint(3000, 5000), "pending_read": chance.randint(200, 600),
                "violations_new": chance.randint(5, 40),
                "stage_metrics": json.dumps([
                    {"description": f"read faults of {day} and pending faults", "duration_s": read},
                    {"description": f"evaluate rules over {day}", "duration_s": evaluate},
                    {"description": f"upsert violations of {day}", "duration_s": upsert}]),
                "rules_skipped": json.dumps([{"rule_id": 99, "reason": "line 1, column 5: "
                                              "expected a fault code"}] if offset == 3 else [])})
        connection.execute(insert(Violation), violation_rows)
        _insert(connection, JobRun, run_rows)
        ids = [row[0] for row in connection.execute(
            Violation.__table__.select().with_only_columns(Violation.id))]
        _insert(connection, ViolationState, [
            {"violation_id": vid, "state": "acknowledged"} if chance.random() < 0.5 else
            {"violation_id": vid, "state": "resolved", "resolved_at": datetime(2016, 12, 1),
             "resolution": "repaired"}
            for vid in chance.sample(ids, len(ids) // 2)])
        _insert(connection, TemperatureBreach, [
            {"equipment_id": f"EQ-{n:04d}", "model": "CAT", "threshold_c": 110.0,
             "started_at": datetime.combine(first + timedelta(days=n * 2), datetime.min.time())
             + timedelta(hours=n),
             "ended_at": None if n == 5 else datetime.combine(
                 first + timedelta(days=n * 2 + 1), datetime.min.time()),
             "peak_average_c": 112.0 + n * 3, "emails_sent": 1 + n % 3} for n in range(6)])
