"""`fleetwatch violations`: stored violations, filtered, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import Engine, select

from rules.timefmt import format_iso_ms
from schemas.relational import Rule, Violation


@dataclass(frozen=True)
class ViolationFilter:
    day: date | None = None
    rule_id: int | None = None
    serial: str | None = None


@dataclass(frozen=True)
class ViolationRow:
    id: int  # what `violations explain ID` takes
    rule_id: int
    rule_version: int
    model: str
    serial_number: str
    ts: datetime
    detected_at: datetime

    @property
    def timestamp(self) -> str:
        return format_iso_ms(_epoch_ms(self.ts))


def query_violations(engine: Engine, where: ViolationFilter) -> list[ViolationRow]:
    query = (select(Violation.id, Violation.rule_id, Violation.rule_version, Rule.model, Violation.serial_number, Violation.ts,
                    Violation.detected_at)
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
        return [ViolationRow(*row) for row in connection.execute(query)]


def print_violations(rows: list[ViolationRow], output_format: str, out: TextIO) -> None:
    if output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["rule_id", "serial_number", "timestamp"])
        writer.writerows((row.rule_id, row.serial_number, row.timestamp) for row in rows)
    elif output_format == "json":
        json.dump([{"id": row.id, "rule_id": row.rule_id, "rule_version": row.rule_version,
                    "model": row.model,
                    "serial_number": row.serial_number, "timestamp": row.timestamp,
                    "detected_at": format_iso_ms(_epoch_ms(row.detected_at))} for row in rows],
                  out, indent=1)
        out.write("\n")
    else:
        out.write(f"{'id':>7}  {'rule':>5}  {'model':<10} {'serial':<14} timestamp\n")
        for row in rows:
            out.write(f"{row.id:>7}  {row.rule_id:>5}  {row.model:<10} {row.serial_number:<14} "
                      f"{row.timestamp}\n")
        out.write(f"({len(rows)} violation{'s' if len(rows) != 1 else ''})\n")


def _epoch_ms(value: datetime) -> int:
    """Naive datetimes from the database are UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - datetime(1970, 1, 1)) // timedelta(milliseconds=1)
