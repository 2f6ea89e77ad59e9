"""Upserting the daily job's violations on SQLite and a real PostgreSQL."""

from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select

from schemas.relational import Violation
from spark_app.daily.rule_store import RuleStore
from spark_app.daily.violation_sink import upsert_violations

FIRST_RUN = datetime(2016, 11, 17, 2, 0, 0)
RERUN = datetime(2016, 11, 18, 2, 0, 0)


def frame(rows):
    return pd.DataFrame({"rule_id": [row[0] for row in rows],
                         "serial_number": [row[1] for row in rows],
                         "ts": pd.to_datetime([row[2] for row in rows], format="ISO8601")})


def stored(engine):
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(
            select(Violation.rule_id, Violation.serial_number, Violation.ts,
                   Violation.detected_at, Violation.run_id)))


@pytest.mark.parametrize("transaction_rows", [1, 2, 100])
def test_new_keys_are_inserted_once_and_the_first_detection_is_kept(engine, transaction_rows):
    rules = RuleStore(engine)
    a, b = rules.add("JAP", "#1.1.1.1"), rules.add("JAP", "#1.2.2.2")
    first = [frame([(a, "S1", "2016-11-16 10:00:00.123"), (b, "S1", "2016-11-16 10:00:00.123")]),
             frame([]),
             frame([(a, "S2", "2016-11-16 11:00:00")])]
    assert upsert_violations(engine, first, FIRST_RUN, "run-1", transaction_rows) == (3, 3)
    # a rerun finds the same three (one twice in its output) and one more
    again = [frame([(a, "S2", "2016-11-16 11:00:00"), (a, "S1", "2016-11-16 10:00:00.123")]),
             frame([(b, "S1", "2016-11-16 10:00:00.123"), (a, "S3", "2016-11-16 12:30:00"),
                    (a, "S3", "2016-11-16 12:30:00")])]
    assert upsert_violations(engine, again, RERUN, "run-2", transaction_rows) == (5, 1)
    assert stored(engine) == [
        (a, "S1", datetime(2016, 11, 16, 10, 0, 0, 123000), FIRST_RUN, "run-1"),
        (a, "S2", datetime(2016, 11, 16, 11, 0, 0), FIRST_RUN, "run-1"),
        (a, "S3", datetime(2016, 11, 16, 12, 30, 0), RERUN, "run-2"),
        (b, "S1", datetime(2016, 11, 16, 10, 0, 0, 123000), FIRST_RUN, "run-1"),
    ]


def test_nothing_to_upsert(engine):
    assert upsert_violations(engine, iter([]), FIRST_RUN, "run-1", 10) == (0, 0)
    assert stored(engine) == []


def test_a_newer_version_matching_a_stored_instant_keeps_the_earlier_row(engine):
    rules = RuleStore(engine)
    rule = rules.add("JAP", "#1.1.1.1")
    first = frame([(rule, "S1", "2016-11-16 10:00:00")]).assign(
        rule_version=[1], evidence=['[["#1.1.1.1",1479290400000]]'])
    assert upsert_violations(engine, [first], FIRST_RUN, "run-1", 10) == (1, 1)
    again = frame([(rule, "S1", "2016-11-16 10:00:00"), (rule, "S1", "2016-11-16 11:00:00")]
                  ).assign(rule_version=[2, 2], evidence=['[["#1.2.2.2",1479290400000]]',
                                                          '[["#1.2.2.2",1479294000000]]'])
    assert upsert_violations(engine, [again], RERUN, "run-2", 10) == (2, 1)
    with engine.connect() as connection:
        rows = connection.execute(select(Violation.ts, Violation.rule_version, Violation.evidence,
                                         Violation.run_id).order_by(Violation.ts)).all()
    assert [tuple(row) for row in rows] == [
        (datetime(2016, 11, 16, 10), 1, '[["#1.1.1.1",1479290400000]]', "run-1"),
        (datetime(2016, 11, 16, 11), 2, '[["#1.2.2.2",1479294000000]]', "run-2")]
