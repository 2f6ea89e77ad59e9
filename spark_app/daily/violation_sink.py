"""Upserting violations into the relational database on their unique key
(rule_id, serial_number, ts), in batches, with each dialect's own syntax:
a rerun inserts nothing twice and keeps the first detection's run id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite

from schemas.relational import Violation

_UPSERT_COLUMNS = ("rule_id", "serial_number", "ts", "detected_at", "run_id")
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for DateTime
_ORACLE_MERGE = text(
    "MERGE INTO violations v "
    "USING (SELECT :rule_id AS rule_id, :serial_number AS serial_number, :ts AS ts FROM dual) s "
    "ON (v.rule_id = s.rule_id AND v.serial_number = s.serial_number AND v.ts = s.ts) "
    "WHEN NOT MATCHED THEN INSERT (rule_id, serial_number, ts, detected_at, run_id) "
    "VALUES (s.rule_id, s.serial_number, s.ts, :detected_at, :run_id)")


def upsert_statement(dialect_name: str):
    """An executemany-able statement that inserts a violation unless its key exists."""
    table = Violation.__table__
    if dialect_name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["rule_id", "serial_number", "ts"])
    if dialect_name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(
            index_elements=["rule_id", "serial_number", "ts"])
    if dialect_name == "oracle":
        return _ORACLE_MERGE
    raise ValueError(f"no violation upsert for database dialect {dialect_name!r}")


def upsert_violations(engine: Engine, violations: pd.DataFrame, detected_at: datetime,
                      run_id: str, batch_size: int) -> int:
    """Insert the violations (rule_id, serial_number, ts: naive UTC) whose key is
    new, in transactions of `batch_size`; returns how many were new."""
    if engine.dialect.name == "sqlite":
        return _upsert_sqlite(engine, violations, detected_at, run_id, batch_size)
    statement = upsert_statement(engine.dialect.name)
    rows = pd.DataFrame({"rule_id": violations["rule_id"].astype("int64"),
                         "serial_number": violations["serial_number"],
                         "ts": violations["ts"].to_numpy("datetime64[us]").astype(object),
                         "detected_at": detected_at, "run_id": run_id}).to_dict("records")
    inserted = 0
    for start in range(0, len(rows), batch_size):
        with engine.begin() as connection:
            result = connection.execute(statement, rows[start:start + batch_size])
            inserted += max(result.rowcount, 0)
    return inserted


def _upsert_sqlite(engine: Engine, violations: pd.DataFrame, detected_at: datetime,
                   run_id: str, batch_size: int) -> int:
    """The same statement, compiled once and given parameters already in
    SQLAlchemy's SQLite DATETIME storage format: per-row type processing
    costs more than SQLite's insert itself."""
    compiled = upsert_statement("sqlite").compile(dialect=engine.dialect,
                                                  column_keys=list(_UPSERT_COLUMNS))
    ts = np.char.replace(np.datetime_as_string(
        violations["ts"].to_numpy("datetime64[us]"), unit="us"), "T", " ")
    columns = {"rule_id": violations["rule_id"].to_numpy(np.int64).tolist(),
               "serial_number": violations["serial_number"].tolist(),
               "ts": ts.tolist(),
               "detected_at": [detected_at.strftime(_SQLITE_DATETIME)] * len(violations),
               "run_id": [run_id] * len(violations)}
    rows = list(zip(*(columns[name] for name in compiled.positiontup), strict=True))
    inserted = 0
    for start in range(0, len(rows), batch_size):
        with engine.begin() as connection:
            result = connection.exec_driver_sql(str(compiled), rows[start:start + batch_size])
            inserted += max(result.rowcount, 0)
    return inserted


def stored_violations(engine: Engine, rule_ids: Iterable[int], serials: Iterable[str],
                      low: datetime, high: datetime,
                      chunk: int = 500) -> list[tuple[int, str, datetime]]:
    """Violations already stored for some rules and serials within [low, high]:
    the anchors that seed the tti filter across days."""
    rule_ids = [int(rule_id) for rule_id in rule_ids]
    serials = sorted(set(serials))
    statement = (select(Violation.rule_id, Violation.serial_number, Violation.ts)
                 .where(Violation.rule_id.in_(bindparam("rule_ids", expanding=True)))
                 .where(Violation.serial_number.in_(bindparam("serials", expanding=True)))
                 .where(Violation.ts.between(bindparam("low"), bindparam("high"))))
    found: list[tuple[int, str, datetime]] = []
    with engine.connect() as connection:
        for start in range(0, len(serials), chunk):
            found += connection.execute(statement, {
                "rule_ids": rule_ids, "serials": serials[start:start + chunk],
                "low": low, "high": high}).all()
    return found
