"""The daily digest of one route: the new violations of a received day that no
silence covers, grouped by severity, then rule (with its action), then serial
(with site and team), with counts; and a chart of the route's violations per
received day over the last days. Counted in SQL over the violations_detail view;
what is fetched is one row per (rule, serial) of the day, not per violation."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import Engine, and_, func, not_, or_, select

from schemas.ddl import VIOLATIONS_DETAIL
from schemas.relational import SEVERITIES, JobRun
from spark_app.people.routes import RouteRule, routes_for, severity_rank

detail = VIOLATIONS_DETAIL.c


@dataclass(frozen=True)
class ViolationGroup:
    """The day's violations of one rule on one serial."""
    severity: str
    rule_id: int
    model: str
    action: str | None
    serial_number: str
    site: str | None
    team: str | None
    violations: int
    first_ts: datetime
    last_ts: datetime


def day_groups(engine: Engine, day: date) -> list[ViolationGroup]:
    """The new violations of received day `day` (credited to one of its runs),
    not silenced, one row per (rule, serial)."""
    query = (select(detail.severity, detail.rule_id, detail.model, detail.action, detail.serial_number, detail.site, detail.team,
                    func.count(), func.min(detail.ts), func.max(detail.ts))
             .join(JobRun, JobRun.run_id == detail.run_id)
             .where(JobRun.day == day, detail.silenced == 0)
             .group_by(detail.severity, detail.rule_id, detail.model, detail.action, detail.serial_number, detail.site, detail.team)
             .order_by(detail.rule_id, detail.serial_number))
    with engine.connect() as connection:
        return [ViolationGroup(*row) for row in connection.execute(query)]


def assign(groups: Sequence[ViolationGroup], routes: Sequence[RouteRule],
           default: RouteRule) -> dict[str, tuple[RouteRule, list[ViolationGroup]]]:
    """Each route's groups (a group goes to every route it matches; one matching
    none goes to the default route). Routes with nothing are left out."""
    assigned: dict[str, tuple[RouteRule, list[ViolationGroup]]] = {}
    for group in groups:
        for route in routes_for(routes, default, site=group.site, team=group.team,
                                model=group.model, severity=group.severity):
            assigned.setdefault(route.key, (route, []))[1].append(group)
    return assigned


def by_severity_rule_serial(groups: Sequence[ViolationGroup]) -> list[tuple[str, list[list]]]:
    """[(severity, [[group of one rule, …], …])], most severe first, rules by id,
    serials by serial number."""
    ordered = sorted(groups, key=lambda g: (severity_rank(g.severity), g.rule_id,
                                            g.serial_number))
    sections: list[tuple[str, list[list]]] = []
    for group in ordered:
        if not sections or sections[-1][0] != group.severity:
            sections.append((group.severity, []))
        rules = sections[-1][1]
        if not rules or rules[-1][0].rule_id != group.rule_id:
            rules.append([])
        rules[-1].append(group)
    return sections


def route_clause(route: RouteRule):
    """The SQL twin of RouteRule.matches over violations_detail (an unknown
    site or team is '' here: it matches no route that filters on it)."""
    allowed = [name for name in SEVERITIES
               if severity_rank(name) <= severity_rank(route.min_severity)]
    conditions = [detail.severity.in_(allowed)]
    for name in ("site", "team", "model"):
        wanted = getattr(route, name)
        if wanted is not None:
            conditions.append(func.coalesce(getattr(detail, name), "") == wanted)
    return and_(*conditions)


def chart_counts(engine: Engine, route: RouteRule, routes: Sequence[RouteRule], day: date,
                 days: int) -> list[dict]:
    """The route's violations (not silenced) per received day and severity, over
    the `days` days ending on `day`; the default route's are those of no route."""
    if route.id is None:
        matches = not_(or_(*[route_clause(other) for other in routes])) if routes else True
    else:
        matches = route_clause(route)
    query = (select(JobRun.day, detail.severity, func.count())
             .join(JobRun, JobRun.run_id == detail.run_id)
             .where(JobRun.day > day - timedelta(days=days), JobRun.day <= day,
                    detail.silenced == 0, matches)
             .group_by(JobRun.day, detail.severity))
    with engine.connect() as connection:
        return [{"day": row_day, "severity": severity, "violations": count}
                for row_day, severity, count in connection.execute(query)]


def digest_message_id(day: date, route_key: str) -> str:
    """Stable per (day, route): a resend after a crash carries the same Message-ID."""
    return hashlib.sha256(f"digest|{day.isoformat()}|{route_key}".encode()).hexdigest()[:32]


def describe_route(route: RouteRule) -> str:
    if route.id is None:
        return "the default recipients (violations no route takes)"
    filters = [f"{name} {getattr(route, name)}" for name in ("site", "team", "model")
               if getattr(route, name) is not None]
    filters.append(f"severity {route.min_severity} and above")
    return f"route {route.id} ({', '.join(filters)})"


def _where(group: ViolationGroup) -> str:
    return f"site {group.site or 'unknown'}, team {group.team or 'unknown'}"


def _span(group: ViolationGroup) -> str:
    first, last = (f"{t:%Y-%m-%d %H:%M:%S}" for t in (group.first_ts, group.last_ts))
    return first if first == last else f"{first} – {last}"


def plain_text(day: date, route: RouteRule, groups: Sequence[ViolationGroup],
               report_url: str | None = None) -> str:
    total = sum(group.violations for group in groups)
    serials = len({group.serial_number for group in groups})
    lines = [f"fleetwatch digest of received day {day.isoformat()}, for {describe_route(route)}",
             f"{total} new violation(s) on {serials} machine(s); silenced ones are not listed.",
             "Instants are UTC.", ""]
    if report_url:
        lines[-1:-1] = [f"The fleet report of the day: {report_url}"]
    for severity, rules in by_severity_rule_serial(groups):
        count = sum(group.violations for rule in rules for group in rule)
        lines.append(f"{severity.upper()} ({count})")
        for rule in rules:
            first = rule[0]
            lines.append(f"  rule {first.rule_id} ({first.model}): "
                         f"{sum(group.violations for group in rule)} violation(s)")
            lines.append(f"    action: {first.action or 'none given'}")
            for group in rule:
                lines.append(f"    {group.serial_number} ({_where(group)}): "
                             f"{group.violations} at {_span(group)}")
        lines.append("")
    return "\n".join(lines)


def html_text(day: date, route: RouteRule, groups: Sequence[ViolationGroup],
              chart_cid: str, report_url: str | None = None) -> str:
    esc = html.escape
    parts = [f"<p>fleetwatch digest of received day <b>{day.isoformat()}</b>, for "
             f"{esc(describe_route(route))}. Silenced violations are not listed; "
             "instants are UTC.</p>",
             f'<p><img src="cid:{chart_cid[1:-1]}" alt="violations per day"></p>']
    if report_url:
        parts.append(f'<p><a href="{esc(report_url)}">The fleet report of the day</a></p>')
    for severity, rules in by_severity_rule_serial(groups):
        parts.append(f"<h3>{esc(severity)} "
                     f"({sum(g.violations for rule in rules for g in rule)})</h3>")
        for rule in rules:
            first = rule[0]
            parts.append(f"<p><b>rule {first.rule_id}</b> ({esc(first.model)}): "
                         f"{esc(first.action or 'no action given')}</p>")
            parts.append("<table border=1 cellpadding=3><tr><th>serial</th><th>site</th>"
                         "<th>team</th><th>violations</th><th>when</th></tr>")
            parts.extend(f"<tr><td>{esc(g.serial_number)}</td><td>{esc(g.site or 'unknown')}"
                         f"</td><td>{esc(g.team or 'unknown')}</td><td>{g.violations}</td>"
                         f"<td>{esc(_span(g))}</td></tr>" for g in rule)
            parts.append("</table>")
    return "<html><body>" + "\n".join(parts) + "</body></html>"


def compose(day: date, route: RouteRule, groups: Sequence[ViolationGroup], chart_png: bytes,
            sender: str, now: datetime | None = None,
            report_url: str | None = None) -> EmailMessage:
    """multipart/alternative: the plain text, and HTML with the chart inline
    (multipart/related, by Content-ID); both link to the day's fleet report when
    report.base_url says where reports are served."""
    total = sum(group.violations for group in groups)
    worst = min(groups, key=lambda group: severity_rank(group.severity)).severity
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(route.recipients)
    message["Subject"] = (f"[fleetwatch] digest {day.isoformat()}: {total} new violation(s), "
                          f"worst {worst}")
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = f"<{digest_message_id(day, route.key)}@fleetwatch>"
    message["X-Fleetwatch-Kind"] = "digest"
    message["X-Fleetwatch-Digest"] = f"{day.isoformat()} {route.key}"
    chart_cid = make_msgid(domain="fleetwatch")
    message.set_content(plain_text(day, route, groups, report_url), cte="quoted-printable")
    message.add_alternative(html_text(day, route, groups, chart_cid, report_url), subtype="html",
                            cte="quoted-printable")
    message.get_payload()[1].add_related(chart_png, maintype="image", subtype="png",
                                         cid=chart_cid, filename="violations-per-day.png")
    return message
