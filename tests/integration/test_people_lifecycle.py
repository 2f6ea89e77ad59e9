"""The violation lifecycle through the command line on SQLite and PostgreSQL:
open -> acknowledged -> resolved with who, when and a note; invalid steps are
refused with exit 2 and change nothing; a rerun of the day keeps every state;
the CSV of `violations` does not change."""

import json
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select

from schemas.relational import ViolationState
from spark_app.common.relational import create_tables, engine_for_url
from spark_app.daily.violation_sink import upsert_violations
from tests.support.people import VIOLATIONS, fleetwatch, make_fleet


@pytest.fixture
def fleet(db_url, tmp_path):
    env = {"FLEETWATCH_DATABASE_URL": db_url}
    engine = engine_for_url(db_url)
    create_tables(engine)
    make_fleet(env, engine, tmp_path)
    yield env, engine
    engine.dispose()


def listed(env, *args) -> list[dict]:
    result = fleetwatch(env, "violations", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def states(engine) -> list[tuple]:
    t = ViolationState.__table__.c
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(t.violation_id, t.state, t.acknowledged_by, t.acknowledged_note,
                   t.resolved_by, t.resolved_note, t.resolution).order_by(t.violation_id))]


def test_ack_then_resolve_records_who_and_why_and_bad_steps_change_nothing(fleet):
    env, engine = fleet
    rows = listed(env, "--serial", "JAP001")
    assert [(row["id"], row["rule_id"], row["timestamp"], row["state"], row["site"],
             row["team"], row["severity"], row["silenced"]) for row in rows] == [
        (2, 1, "2016-11-16T10:00:00.000Z", "open", "north", "hydraulics", "critical", False),
        (3, 1, "2016-11-16T10:05:00.000Z", "open", "north", "hydraulics", "critical", False),
        (1, 2, "2016-11-15T09:00:00.000Z", "open", "north", "hydraulics", "warning", False),
        (5, 2, "2016-11-16T11:00:00.000Z", "open", "north", "hydraulics", "warning", False)]

    ack = fleetwatch(env, "violations", "ack", "2", "3", "--note", "technician on the way",
                     "--by", "ana")
    assert ack.returncode == 0, ack.stderr
    assert ack.stdout == "2 violation(s) acknowledged by ana\n"
    resolve = fleetwatch(env, "violations", "resolve", "2", "--note", "seal replaced",
                         "--by", "rui", "--resolution", "repaired")
    assert resolve.returncode == 0, resolve.stderr
    expected = [(2, "resolved", "ana", "technician on the way", "rui", "seal replaced",
                 "repaired"),
                (3, "acknowledged", "ana", "technician on the way", None, None, None)]
    assert states(engine) == expected

    twice = fleetwatch(env, "violations", "resolve", "2", "3", "--by", "rui")
    assert twice.returncode == 2
    assert twice.stderr == ("fleetwatch: nothing changed: violation 2 is resolved, "
                            "cannot be resolved\n")
    unknown = fleetwatch(env, "violations", "ack", "4", "999")
    assert unknown.returncode == 2
    assert "no violation with id 999" in unknown.stderr
    again = fleetwatch(env, "violations", "ack", "3")
    assert again.returncode == 2
    assert "violation 3 is acknowledged, cannot be acknowledged" in again.stderr
    assert states(engine) == expected  # 3 not resolved, 4 not acknowledged

    assert [row["id"] for row in listed(env, "--state", "acknowledged")] == [3]
    assert [row["id"] for row in listed(env, "--state", "resolved")] == [2]
    assert len(listed(env, "--state", "open")) == 6


def test_a_rerun_of_the_day_keeps_the_states_and_the_csv_is_unchanged(fleet):
    env, engine = fleet
    assert fleetwatch(env, "violations", "ack", "1", "--by", "ana").returncode == 0
    frame = pd.DataFrame(VIOLATIONS, columns=["rule_id", "serial_number", "ts"])
    assert upsert_violations(engine, [frame], datetime(2016, 11, 18), "run-16b", 1000) == (7, 0)
    assert [(row[0], row[1]) for row in states(engine)] == [(1, "acknowledged")]

    csv = fleetwatch(env, "violations", "--serial", "JAP001", "--format", "csv")
    assert csv.stdout == ("rule_id,serial_number,timestamp\n"
                          "1,JAP001,2016-11-16T10:00:00.000Z\n"
                          "1,JAP001,2016-11-16T10:05:00.000Z\n"
                          "2,JAP001,2016-11-15T09:00:00.000Z\n"
                          "2,JAP001,2016-11-16T11:00:00.000Z\n")


def test_the_morning_view_counts_what_is_not_resolved_per_serial(fleet):
    env, engine = fleet
    assert fleetwatch(env, "violations", "ack", "2", "--by", "ana").returncode == 0
    assert fleetwatch(env, "violations", "resolve", "3", "--by", "ana",
                      "--resolution", "false_positive").returncode == 0
    result = fleetwatch(env, "violations", "open", "--format", "csv")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "serial,model,site,team,open,acknowledged,oldest,age (days)"
    assert [line.rsplit(",", 1)[0] for line in lines[1:]] == [
        "JAP001,JAP,north,hydraulics,2,1,2016-11-15T09:00:00.000Z",
        "JAP002,JAP,south,engines,2,0,2016-11-16T12:00:00.000Z",
        "KOM001,KOM,north,engines,1,0,2016-11-16T13:00:00.000Z",
        "KOM999,KOM,,,1,0,2016-11-16T14:00:00.000Z"]
