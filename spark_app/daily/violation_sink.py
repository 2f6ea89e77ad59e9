"""Upserting violations into the relational database on their unique key
(rule_id, serial_number, ts), in batches, with each dialect's own syntax:
a rerun inserts nothing twice and keeps the first detection's run id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache

from sqlalchemy import Engine, bindparam, create_engine, select, text
from sqlalchemy.dialects import postgresql, sqlite

from schemas.relational import Violation

_ORACLE_MERGE = text(
    "MERGE INTO violations v "
    "USING (SELECT :rule_id AS rule_id, :serial_number AS serial_number, :ts AS ts FROM dual) s "
    "ON (v.rule_id = s.rule_id AND v.serial_number = s.serial_number AND v.ts = s.ts) "
    "WHEN NOT MATCHED THEN INSERT (rule_id, serial_number, ts, detected_at, run_id) "
    "VALUES (s.rule_id, s.serial_number, s.ts, :detected_at, :run_id)")


@cache
def engine_for(url: str) -> Engine:
    """One engine per URL and process (Spark's Python workers reuse it across tasks)."""
    connect_args = {"timeout": 120} if url.startswith("sqlite") else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


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


def upsert_violations(engine: Engine, rows: Sequence[dict], batch_size: int) -> int:
    """Insert the rows whose key is new; returns how many were new.
    Each row: rule_id, serial_number, ts, detected_at, run_id."""
    statement = upsert_statement(engine.dialect.name)
    inserted = 0
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        with engine.begin() as connection:
            result = connection.execute(statement, batch)
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
