"""Silences: no notification for one serial, model, rule or site over a period
of event time (the violation's instant, the reading's window), so a backfill
gives the same answer as running live. A silenced violation is stored and
listed as usual (marked silenced); only the e-mail is withheld. The SQL side
of the same test is the `silenced` column of the violations_detail view."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from schemas.relational import Rule, Silence

SCOPES = ("serial_number", "model", "rule_id", "site")


@dataclass(frozen=True)
class SilenceRule:
    id: int
    serial_number: str | None
    model: str | None
    rule_id: int | None
    site: str | None
    starts_at: datetime  # naive UTC, as stored
    ends_at: datetime
    reason: str
    created_by: str | None = None
    created_at: datetime | None = None
    expired_at: datetime | None = None

    @property
    def scope(self) -> str:
        for name in SCOPES:
            if getattr(self, name) is not None:
                return f"{name.removesuffix('_number').replace('_id', '')} {getattr(self, name)}"
        raise AssertionError("a silence has exactly one scope (ck_silences_one_scope)")

    def covers(self, at: datetime, *, serial_number: str | None = None,
               model: str | None = None, rule_id: int | None = None,
               site: str | None = None) -> bool:
        """The subject is in scope and `at` (event time) in [starts_at, ends_at),
        cut short at expired_at if the silence was expired early."""
        at = _naive_utc(at)
        end = min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at
        if not self.starts_at <= at < end:
            return False
        return ((self.serial_number is not None and self.serial_number == serial_number)
                or (self.model is not None and self.model == model)
                or (self.rule_id is not None and self.rule_id == rule_id)
                or (self.site is not None and self.site == site))

    def record(self, now: datetime) -> dict[str, object]:
        end = min(self.ends_at, self.expired_at) if self.expired_at else self.ends_at
        return {"id": self.id, "scope": self.scope, "serial_number": self.serial_number,
                "model": self.model, "rule_id": self.rule_id, "site": self.site,
                "starts_at": self.starts_at, "ends_at": self.ends_at,
                "expired_at": self.expired_at, "active": self.starts_at <= _naive_utc(now) < end,
                "reason": self.reason, "created_by": self.created_by,
                "created_at": self.created_at}


def silenced(silences: Iterable[SilenceRule], at: datetime, **subject) -> bool:
    return any(silence.covers(at, **subject) for silence in silences)


def _naive_utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None) if instant.tzinfo else instant


class SilenceStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, *, until: datetime, reason: str, starts: datetime, serial_number=None,
            model=None, rule_id=None, site=None, created_by: str | None = None) -> int:
        scopes = [value for value in (serial_number, model, rule_id, site) if value is not None]
        if len(scopes) != 1:
            raise ValueError("a silence needs exactly one of --serial, --model, --rule, --site")
        if not reason.strip():
            raise ValueError("--reason must say why (it is shown to whoever wonders "
                             "why nobody was told)")
        starts, until = _naive_utc(starts), _naive_utc(until)
        if until <= starts:
            raise ValueError(f"--until {until.isoformat()} is not after --from "
                             f"{starts.isoformat()}")
        with self.engine.begin() as connection:
            if rule_id is not None and connection.execute(
                    select(Rule.id).where(Rule.id == rule_id)).first() is None:
                raise ValueError(f"no rule with id {rule_id}")
            return connection.execute(
                Silence.__table__.insert().returning(Silence.id),
                {"serial_number": serial_number, "model": model, "rule_id": rule_id,
                 "site": site, "starts_at": starts, "ends_at": until, "reason": reason,
                 "created_by": created_by}).scalar_one()

    def list(self) -> list[SilenceRule]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(
                Silence.id, Silence.serial_number, Silence.model, Silence.rule_id, Silence.site,
                Silence.starts_at, Silence.ends_at, Silence.reason, Silence.created_by,
                Silence.created_at, Silence.expired_at).order_by(Silence.id))
            return [SilenceRule(*row) for row in rows]

    def expire(self, silence_id: int, now: datetime) -> bool:
        """Ends the silence at `now` (if it has not ended already); False: no such id."""
        now = _naive_utc(now)
        with self.engine.begin() as connection:
            found = connection.execute(select(Silence.ends_at, Silence.expired_at)
                                       .where(Silence.id == silence_id)).first()
            if found is None:
                return False
            ends_at, expired_at = found
            if expired_at is None and now < ends_at:
                connection.execute(update(Silence).where(Silence.id == silence_id)
                                   .values(expired_at=now))
            return True
