"""`fleetwatch violations`: stored violations, filtered, as a table, CSV or JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import Engine, select

from schemas.relational import Rule, Violation
from spark_app.common.output import Column, write_listing


@dataclass(frozen=True)
class ViolationFilter:
    day: date | None = None
    rule_id: int | None = None
    serial: str | None = None


# The CSV others rely on: exactly these columns, in this order (README, "Stable interfaces").
STABLE_CSV = (Column("rule_id"), Column("serial_number"), Column("timestamp"))
TABLE = (Column("rule_id", "rule", align_right=True), Column("model"),
         Column("serial_number", "serial"), Column("timestamp"))
# --all-columns: every column, in the table and the CSV (JSON always has them all)
ALL_COLUMNS = (Column("rule_id", align_right=True), Column("model"), Column("serial_number"),
               Column("timestamp"), Column("detected_at"))


def query_violations(engine: Engine, where: ViolationFilter) -> list[dict]:
    """One record per violation: rule_id, model, serial_number, timestamp, detected_at."""
    query = (select(Violation.rule_id, Rule.model, Violation.serial_number,
                    Violation.ts.label("timestamp"), Violation.detected_at)
             .join(Rule, Rule.id == Violation.rule_id)
             .order_by(Violation.rule_id, Violation.serial_number, Violation.ts))
    if where.day is not None:
        start = datetime.combine(where.day, time())
        query = query.where(Violation.ts >= start, Violation.ts < start + timedelta(days=1))
    if where.rule_id is not None:
        query = query.where(Violation.rule_id == where.rule_id)
    if where.serial is not None:
        query = query.where(Violation.serial_number == where.serial)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def print_violations(records: list[dict], output_format: str, out: TextIO,
                     all_columns: bool = False) -> None:
    """CSV has the stable three columns unless `all_columns`; JSON has every column."""
    if all_columns:
        columns = ALL_COLUMNS
    else:
        columns = STABLE_CSV if output_format == "csv" else TABLE
    write_listing(records, columns, output_format, out, noun="violation")
