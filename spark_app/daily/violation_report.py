"""`fleetwatch violations`: stored violations, filtered, as a table, CSV or JSON,
with their severity, site and team, lifecycle state and whether a silence
covers them (the violations_detail view); and `violations open`, the open ones
per serial for the morning meeting. The CSV is the stable interface: its
columns never change unless --all-columns is asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import Engine, select

from schemas.ddl import OPEN_VIOLATIONS_PER_SERIAL, VIOLATIONS_DETAIL
from spark_app.common.output import Column, write_listing


@dataclass(frozen=True)
class ViolationFilter:
    day: date | None = None
    rule_id: int | None = None
    serial: str | None = None
    state: str | None = None


# The CSV others rely on: exactly these columns, in this order (README, "Stable interfaces").
STABLE_CSV = (Column("rule_id"), Column("serial_number"), Column("timestamp"))
TABLE = (Column("id", align_right=True), Column("rule_id", "rule", align_right=True),
         Column("model"), Column("severity"), Column("serial_number", "serial"),
         Column("timestamp"), Column("site"), Column("team"), Column("state"),
         Column("silenced"))
# --all-columns: every column, in the table and the CSV (JSON always has them all)
ALL_COLUMNS = (Column("id", align_right=True), Column("rule_id", align_right=True),
               Column("rule_version", align_right=True), Column("model"), Column("severity"), Column("serial_number"),
               Column("timestamp"), Column("detected_at"), Column("site"), Column("team"),
               Column("state"), Column("silenced"))


def query_violations(engine: Engine, where: ViolationFilter) -> list[dict]:
    """One record per violation, with every column of ALL_COLUMNS."""
    v = VIOLATIONS_DETAIL.c
    query = (select(v.id, v.rule_id, v.rule_version, v.model, v.severity, v.serial_number,
                    v.ts.label("timestamp"), v.detected_at, v.site, v.team, v.state,
                    v.silenced)
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
        return [{**row._mapping, "silenced": bool(row.silenced)}
                for row in connection.execute(query)]


def print_violations(records: list[dict], output_format: str, out: TextIO,
                     all_columns: bool = False) -> None:
    """CSV has the stable three columns unless `all_columns`; JSON has every column."""
    if all_columns:
        columns = ALL_COLUMNS
    else:
        columns = STABLE_CSV if output_format == "csv" else TABLE
    write_listing(records, columns, output_format, out, noun="violation")


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
