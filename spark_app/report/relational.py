"""The report's aggregates over the relational tables, each one GROUP BY in the
database: what comes back is bounded by days, rules, sites and the `top` asked
for, never by the number of violations."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, and_, case, cast, func, literal, or_, select
from sqlalchemy import Date as SqlDate

from schemas.relational import (
    Equipment,
    JobRun,
    Rule,
    TemperatureBreach,
    Violation,
    ViolationState,
)

UNKNOWN_SITE = "(no site)"  # a serial missing from the equipment registry


@dataclass(frozen=True)
class Period:
    """The days first … last, both included; instants in [start, end)."""
    first: date
    last: date

    @classmethod
    def ending(cls, last: date, days: int) -> Period:
        return cls(last - timedelta(days=days - 1), last)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time())

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time())

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def latest_run_day(connection: Connection) -> date | None:
    """The latest day the daily job ran (the report's default day)."""
    return connection.scalar(select(func.max(JobRun.day)))


def _day_of(column, dialect: str):
    """The UTC day of a naive UTC instant, in the database's own terms."""
    if dialect == "sqlite":
        return func.date(column)
    if dialect == "oracle":
        return func.trunc(column)
    return cast(column, SqlDate)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _state():
    # No row in violation_states means open (people issue: reruns never reset a state).
    return func.coalesce(ViolationState.state, literal("open"))


def violations_per_day(connection: Connection, period: Period) -> list[dict]:
    """[{day, severity, violations}] of the violations whose instant is in the period."""
    day = _day_of(Violation.ts, connection.dialect.name).label("day")
    rows = connection.execute(
        select(day, Rule.severity, func.count().label("violations"))
        .join(Rule, Rule.id == Violation.rule_id)
        .where(Violation.ts >= period.start, Violation.ts < period.end)
        .group_by(day, Rule.severity)).all()
    return sorted(({"day": _as_date(d), "severity": severity, "violations": count}
                   for d, severity, count in rows),
                  key=lambda row: (row["day"], row["severity"]))


def top_rules(connection: Connection, period: Period, top: int) -> list[dict]:
    """The rules that fired most in the period: [{rule_id, model, severity, label, new,
    already_open}], `new` their violations of the period, `already_open` those from
    before it that are still not resolved."""
    in_period = Violation.ts >= period.start
    fired = func.sum(case((in_period, 1), else_=0)).label("new")
    carried = func.sum(case((and_(~in_period, _state() != "resolved"), 1), else_=0)) \
        .label("already_open")
    rows = connection.execute(
        select(Violation.rule_id, Rule.model, Rule.severity, Rule.description,
               Rule.expression, fired, carried)
        .join(Rule, Rule.id == Violation.rule_id)
        .outerjoin(ViolationState, ViolationState.violation_id == Violation.id)
        .where(Violation.ts < period.end)
        .group_by(Violation.rule_id, Rule.model, Rule.severity, Rule.description,
                  Rule.expression)
        .having(fired > 0)
        .order_by(fired.desc(), Violation.rule_id)
        .limit(top)).all()
    return [{"rule_id": rule_id, "model": model, "severity": severity,
             "label": f"#{rule_id} {model}: {description or expression}"[:60],
             "new": int(new), "already_open": int(already_open)}
            for rule_id, model, severity, description, expression, new, already_open in rows]


def states_per_site_model(connection: Connection, period: Period) -> list[dict]:
    """[{site, model, state, violations}] of the period's violations, by where the
    machine is (equipment registry) and the state each violation is in now."""
    site = func.coalesce(Equipment.site, literal(UNKNOWN_SITE)).label("site")
    state = _state().label("state")
    rows = connection.execute(
        select(site, Rule.model, state, func.count().label("violations"))
        .select_from(Violation)
        .join(Rule, Rule.id == Violation.rule_id)
        .outerjoin(Equipment, Equipment.serial_number == Violation.serial_number)
        .outerjoin(ViolationState, ViolationState.violation_id == Violation.id)
        .where(Violation.ts >= period.start, Violation.ts < period.end)
        .group_by(site, Rule.model, state)).all()
    return sorted(({"site": s, "model": model, "state": st, "violations": count}
                   for s, model, st, count in rows),
                  key=lambda row: (row["site"], row["model"], row["state"]))


def _still_open():
    return or_(ViolationState.state.is_(None), ViolationState.state == "open")


def top_open_serials(connection: Connection, period: Period, top: int) -> list[dict]:
    """The serials with the most open violations up to the period's end:
    [{serial_number, site, open, last_ts}]."""
    count = func.count().label("open")
    rows = connection.execute(
        select(Violation.serial_number, Equipment.site, count,
               func.max(Violation.ts).label("last_ts"))
        .outerjoin(Equipment, Equipment.serial_number == Violation.serial_number)
        .outerjoin(ViolationState, ViolationState.violation_id == Violation.id)
        .where(Violation.ts < period.end, _still_open())
        .group_by(Violation.serial_number, Equipment.site)
        .order_by(count.desc(), Violation.serial_number)
        .limit(top)).all()
    return [{"serial_number": serial, "site": site or UNKNOWN_SITE, "open": int(n),
             "last_ts": last} for serial, site, n, last in rows]


def open_violations_of(connection: Connection, period: Period, serials: list[str],
                       limit: int) -> dict[str, list[dict]]:
    """Each serial's latest open violations (at most `limit`): the list a top serial links to."""
    listed: dict[str, list[dict]] = {serial: [] for serial in serials}
    for serial in serials:  # one indexed query per serial shown (top of them)
        rows = connection.execute(
            select(Violation.id, Violation.rule_id, Rule.severity, Rule.description,
                   Violation.ts, Violation.detected_at)
            .join(Rule, Rule.id == Violation.rule_id)
            .outerjoin(ViolationState, ViolationState.violation_id == Violation.id)
            .where(Violation.serial_number == serial, Violation.ts < period.end,
                   _still_open())
            .order_by(Violation.ts.desc()).limit(limit)).all()
        listed[serial] = [{"id": vid, "rule_id": rule_id, "severity": severity,
                           "description": description, "ts": ts, "detected_at": detected}
                          for vid, rule_id, severity, description, ts, detected in rows]
    return listed


def daily_runs(connection: Connection, period: Period) -> list[dict]:
    """The latest run of each day of the period: [{day, run_id, status, duration_s,
    faults_read, pending_read, violations_new, stages, rules_skipped}], `stages`
    {stage: seconds} summed over the run's Spark stages of the same description."""
    rows = connection.execute(
        select(JobRun.day, JobRun.run_id, JobRun.status, JobRun.started_at,
               JobRun.finished_at, JobRun.faults_read, JobRun.pending_read,
               JobRun.violations_new, JobRun.stage_metrics, JobRun.rules_skipped)
        .where(JobRun.day >= period.first, JobRun.day <= period.last)
        .order_by(JobRun.day, JobRun.started_at)).all()
    latest = {_as_date(row.day): row for row in rows}  # ordered: the last one of a day stays
    return [{"day": day, "run_id": row.run_id, "status": row.status,
             "duration_s": (row.finished_at - row.started_at).total_seconds()
             if row.finished_at else None,
             "faults_read": row.faults_read, "pending_read": row.pending_read,
             "violations_new": row.violations_new,
             "stages": stage_seconds(row.stage_metrics),
             "rules_skipped": json.loads(row.rules_skipped or "[]")}
            for day, row in sorted(latest.items())]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def stage_seconds(stage_metrics: str | None) -> dict[str, float]:
    """{stage: seconds} of one run's `job_runs.stage_metrics`; a stage is named by its
    description with the day taken out, so the same step of different days matches."""
    seconds: dict[str, float] = {}
    for stage in json.loads(stage_metrics or "[]"):
        if stage.get("duration_s") is None:
            continue  # an error entry, or a stage that never completed
        name = _ISO_DAY.sub("D", stage.get("description") or stage.get("name") or "?")
        seconds[name] = round(seconds.get(name, 0.0) + stage["duration_s"], 3)
    return seconds


def breach_episodes(connection: Connection, period: Period, limit: int) -> list[dict]:
    """The temperature breach episodes that overlap the period, latest first."""
    rows = connection.execute(
        select(TemperatureBreach.equipment_id, TemperatureBreach.model,
               TemperatureBreach.threshold_c, TemperatureBreach.started_at,
               TemperatureBreach.ended_at, TemperatureBreach.peak_average_c,
               TemperatureBreach.emails_sent, TemperatureBreach.silenced)
        .where(TemperatureBreach.started_at < period.end,
               or_(TemperatureBreach.ended_at.is_(None),
                   TemperatureBreach.ended_at >= period.start))
        .order_by(TemperatureBreach.started_at.desc(), TemperatureBreach.equipment_id)
        .limit(limit)).all()
    return [row._asdict() for row in rows]
