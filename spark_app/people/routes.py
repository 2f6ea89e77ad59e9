"""Routes: who is told about what. A route names recipients and optional
filters (site, team, model) and a minimum severity; a violation or temperature
alert goes to every route it matches, and to smtp.recipients when it matches
none (or there are no routes), so nothing reaches nobody."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from sqlalchemy import Engine, delete, select

from schemas.relational import SEVERITIES, Route

DEFAULT_ROUTE_KEY = "default"


def severity_rank(severity: str) -> int:
    """0 for the most severe; a route of min_severity m takes ranks <= rank(m)."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class RouteRule:
    id: int | None  # None: the default route (smtp.recipients)
    recipients: tuple[str, ...]
    site: str | None = None
    team: str | None = None
    model: str | None = None
    min_severity: str = "info"
    created_at: datetime | None = None

    @property
    def key(self) -> str:
        """What the record of digests sent names the route by."""
        return DEFAULT_ROUTE_KEY if self.id is None else f"route:{self.id}"

    def matches(self, *, site: str | None, team: str | None, model: str | None,
                severity: str) -> bool:
        """Every filter the route sets equals the subject's value (an unknown site
        or team matches only routes that do not filter on it)."""
        return ((self.site is None or self.site == site)
                and (self.team is None or self.team == team)
                and (self.model is None or self.model == model)
                and severity_rank(severity) <= severity_rank(self.min_severity))

    def record(self) -> dict[str, object]:
        return {"id": self.id, "recipients": ",".join(self.recipients), "site": self.site,
                "team": self.team, "model": self.model, "min_severity": self.min_severity,
                "created_at": self.created_at}


def default_route(recipients: Iterable[str]) -> RouteRule:
    return RouteRule(None, tuple(recipients))


def routes_for(routes: Sequence[RouteRule], default: RouteRule, *, site: str | None,
               team: str | None, model: str | None, severity: str) -> list[RouteRule]:
    """The routes a subject goes to: those it matches, else the default one."""
    matched = [route for route in routes
               if route.matches(site=site, team=team, model=model, severity=severity)]
    return matched or [default]


def parse_recipients(text: str) -> tuple[str, ...]:
    """`a@x, b@y` -> ("a@x", "b@y"); a ValueError names the address that is not one."""
    addresses = [part.strip() for part in text.split(",") if part.strip()]
    if not addresses:
        raise ValueError("--to needs at least one e-mail address")
    for address in addresses:
        _name, parsed = parseaddr(address)
        local, at, domain = parsed.rpartition("@")
        if parsed != address or not at or not local or not domain or " " in address:
            raise ValueError(f"{address!r} is not an e-mail address (want name@domain)")
    return tuple(addresses)


class RouteStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, recipients: str, *, site: str | None = None, team: str | None = None,
            model: str | None = None, min_severity: str = "info") -> int:
        addresses = parse_recipients(recipients)
        if min_severity not in SEVERITIES:
            raise ValueError(f"min severity must be one of {', '.join(SEVERITIES)}, "
                             f"got {min_severity!r}")
        with self.engine.begin() as connection:
            return connection.execute(
                Route.__table__.insert().returning(Route.id),
                {"recipients": ",".join(addresses), "site": site, "team": team,
                 "model": model, "min_severity": min_severity}).scalar_one()

    def list(self) -> list[RouteRule]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(Route).order_by(Route.id)).mappings()
            return [RouteRule(row["id"], tuple(row["recipients"].split(",")), row["site"],
                              row["team"], row["model"], row["min_severity"], row["created_at"])
                    for row in rows]

    def remove(self, route_id: int) -> bool:
        with self.engine.begin() as connection:
            return connection.execute(delete(Route).where(Route.id == route_id)).rowcount == 1
