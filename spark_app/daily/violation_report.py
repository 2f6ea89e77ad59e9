"""`fleetwatch violations`: stored violations, filtered, as a table, CSV or JSON,
with their severity, site and team, lifecycle state and whether a silence
covers them (the violations_detail view); and `violations open`, the open ones
per serial for the morning meeting. The CSV is the stable interface: its
columns never change."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import Engine, select

from rules.timefmt import format_iso_ms
from schemas.ddl import OPEN_VIOLATIONS_PER_SERIAL, VIOLATIONS_DETAIL
from spark_app.common.output import Column, write_listing


@dataclass(frozen=True)
class ViolationFilter:
    day: date | None = None
    rule_id: int | None = None
    serial: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class ViolationRow:
    id: int
    rule_id: int
    model: str
    severity: str
    serial_number: str
    ts: datetime
    detected_at: datetime
    site: str | None
    team: str | None
    state: str
    silenced: bool

    @property
    def timestamp(self) -> str:
        return format_iso_ms(_epoch_ms(self.ts))


def query_violations(engine: Engine, where: ViolationFilter) -> list[ViolationRow]:
    v = VIOLATIONS_DETAIL.c
    query = (select(v.id, v.rule_id, v.model, v.severity, v.serial_number, v.ts, v.detected_at,
                    v.site, v.team, v.state, v.silenced)
             .order_by(v.rule_id, v.serial_number, v.ts))
    if where.day is not None:
        start = datetime.combine(where.day, time())
        query = query.where(v.ts >= start, v.ts < start + timedelta(days=1))
    if where.rule_id is not None:
        query = query.where(v.rule_id == where.rule_id)
    if where.serial is not None:
        query = query.where(v.serial_number == where.serial)
    if where.state is not None:
        query = query.where(v.state == where.state)
    with engine.connect() as connection:
        return [ViolationRow(*row[:-1], bool(row[-1])) for row in connection.execute(query)]


LISTING = (Column("id", align_right=True), Column("rule_id", "rule", align_right=True),
           Column("model"), Column("severity"), Column("serial_number", "serial"),
           Column("timestamp"), Column("site"), Column("team"), Column("state"),
           Column("silenced"))


def print_violations(rows: list[ViolationRow], output_format: str, out: TextIO) -> None:
    if output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["rule_id", "serial_number", "timestamp"])
        writer.writerows((row.rule_id, row.serial_number, row.timestamp) for row in rows)
        return
    records = [{"id": row.id, "rule_id": row.rule_id, "model": row.model,
                "severity": row.severity, "serial_number": row.serial_number,
                "timestamp": row.timestamp, "detected_at": format_iso_ms(_epoch_ms(row.detected_at)),
                "site": row.site, "team": row.team, "state": row.state, "silenced": row.silenced}
               for row in rows]
    write_listing(records, LISTING, output_format, out, noun="violation")


OPEN_LISTING = (Column("serial_number", "serial"), Column("model"), Column("site"),
                Column("team"), Column("open_count", "open", align_right=True),
                Column("acknowledged_count", "acknowledged", align_right=True),
                Column("oldest_ts", "oldest"), Column("age_days", "age (days)", align_right=True))


def open_per_serial(engine: Engine, now: datetime) -> list[dict]:
    """Per serial, its violations not resolved yet, the oldest first: the age of
    the oldest (whole days before `now`) is what the morning meeting asks about."""
    o = OPEN_VIOLATIONS_PER_SERIAL.c
    now = now.astimezone(UTC).replace(tzinfo=None) if now.tzinfo else now
    with engine.connect() as connection:
        rows = connection.execute(select(o.serial_number, o.model, o.site, o.team, o.open_count,
                                         o.acknowledged_count, o.oldest_ts, o.newest_ts)
                                  .order_by(o.oldest_ts, o.serial_number)).mappings()
        return [{**row, "age_days": (now - row["oldest_ts"]).days} for row in rows]


def print_open_per_serial(records: list[dict], output_format: str, out: TextIO) -> None:
    write_listing(records, OPEN_LISTING, output_format, out, noun="serial")


def _epoch_ms(value: datetime) -> int:
    """Naive datetimes from the database are UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - datetime(1970, 1, 1)) // timedelta(milliseconds=1)
