"""`fleetwatch notify --day D`: each route's digest of received day D, once.

Per (day, route) a row of notifications_sent records the digest when it is
queued and its sent_at once an SMTP server accepted it; the e-mail itself goes
through the Cassandra outbox the temperature alerts use (its own queue). So a
rerun, an Airflow retry or a retry after an SMTP outage never sends a digest
marked sent and never loses one still pending. The one window for a duplicate,
a crash between the server's acceptance and the mark, carries the same
Message-ID (derived from day and route). notifications_sent outlives the
outbox's TTL. A day older than notify.max_age_days is skipped unless forced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TextIO

from sqlalchemy import Engine, select, update

from schemas.relational import NotificationSent
from spark_app.alerts.outbox import (
    CassandraOutbox,
    DeliveryReport,
    OutgoingMail,
    PendingMail,
    StoredMail,
    deliver_pending,
)
from spark_app.alerts.smtp import SmtpMailer
from spark_app.common.charts import to_png, violations_per_day
from spark_app.common.config import Config
from spark_app.common.relational import engine_from_config
from spark_app.common.settings import CassandraSettings, SmtpSettings
from spark_app.people import digest
from spark_app.people.routes import RouteStore, default_route
from spark_app.people.settings import NotifySettings, ReportLink

QUEUE = "digest"  # the outbox queue of digests; the stream delivers its own, "smtp"
KIND = "digest"


class DigestLedger:
    """notifications_sent: what was queued and what was sent, per (day, route)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._table = NotificationSent.__table__

    def of_day(self, day: date) -> dict[str, datetime | None]:
        """route key -> sent_at (None: queued, not sent yet)."""
        t = self._table
        with self.engine.connect() as connection:
            return dict(connection.execute(select(t.c.route_key, t.c.sent_at)
                                           .where(t.c.kind == KIND, t.c.day == day)).all())

    def record_queued(self, day: date, route_key: str, recipients: Sequence[str],
                      message_id: str, violations: int, now: datetime) -> None:
        t = self._table
        with self.engine.begin() as connection:
            known = connection.execute(select(t.c.id).where(
                t.c.kind == KIND, t.c.day == day, t.c.route_key == route_key)).first()
            values = {"recipients": ",".join(recipients), "violations": violations}
            if known is None:
                connection.execute(t.insert().values(
                    kind=KIND, day=day, route_key=route_key, message_id=message_id,
                    queued_at=_naive(now), **values))
            else:  # queued before, not sent: the retry's content replaces it
                connection.execute(t.update().where(t.c.id == known.id,
                                                    t.c.sent_at.is_(None)).values(**values))

    def mark_sent(self, message_id: str, sent_at: datetime) -> None:
        t = self._table
        with self.engine.begin() as connection:
            connection.execute(update(t).where(t.c.message_id == message_id,
                                               t.c.sent_at.is_(None))
                               .values(sent_at=_naive(sent_at)))


class LedgerOutbox:
    """The outbox, also marking notifications_sent when a digest is sent."""

    def __init__(self, outbox: CassandraOutbox, ledger: DigestLedger):
        self._outbox = outbox
        self._ledger = ledger

    def pending(self) -> list[PendingMail]:
        return self._outbox.pending()

    def load(self, message_id: str) -> StoredMail | None:
        return self._outbox.load(message_id)

    def mark_sent(self, item: PendingMail, sent_at: datetime) -> None:
        self._outbox.mark_sent(item, sent_at)
        self._ledger.mark_sent(item.message_id, sent_at)

    def record_failure(self, stored: StoredMail, error: str) -> None:
        self._outbox.record_failure(stored, error)

    def forget(self, item: PendingMail) -> None:
        stored = self._outbox.load(item.message_id)
        if stored is not None and stored.sent_at is not None:
            self._ledger.mark_sent(item.message_id, stored.sent_at)
        self._outbox.forget(item)


@dataclass(frozen=True)
class NotifyOutcome:
    day: date
    queued: int = 0
    already_sent: int = 0
    skipped_old: bool = False
    delivery: DeliveryReport = DeliveryReport()


def notify_day(engine: Engine, outbox: CassandraOutbox, mailer: SmtpMailer, config: Config,
               day: date, *, force: bool = False, today: date | None = None,
               echo: Callable[[str], None] = print,
               now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> NotifyOutcome:
    settings = config.settings(NotifySettings)
    smtp = config.settings(SmtpSettings)
    today = today or now().date()
    if not force and (today - day).days > settings.max_age_days:
        echo(f"{day}: older than notify.max_age_days ({settings.max_age_days} days before "
             f"{today}), no digest sent; --force sends it (never one already sent)")
        return NotifyOutcome(day, skipped_old=True)
    routes = RouteStore(engine).list()
    default = default_route(smtp.recipients)
    ledger = DigestLedger(engine)
    sent_before = ledger.of_day(day)
    assigned = digest.assign(digest.day_groups(engine, day), routes, default)
    if not assigned:
        echo(f"{day}: no new violations to tell anyone about, nothing sent")
    queued = already = 0
    mails = []
    for key, (route, groups) in assigned.items():
        message_id = digest.digest_message_id(day, key)
        count = sum(group.violations for group in groups)
        if sent_before.get(key) is not None:
            echo(f"{day}: {key} already sent ({count} violations), not again")
            already += 1
            continue
        stored = outbox.load(message_id)
        if stored is not None and stored.sent_at is not None:  # sent, then a crash
            ledger.mark_sent(message_id, stored.sent_at)
            echo(f"{day}: {key} already sent ({count} violations), not again")
            already += 1
            continue
        chart = digest.chart_counts(engine, route, routes, day, settings.chart_days)
        days = [day - timedelta(days=n) for n in reversed(range(settings.chart_days))]
        png = to_png(violations_per_day(chart, days, title=f"Violations per day, {key}"))
        message = digest.compose(day, route, groups, png, smtp.sender, now(),
                                 config.settings(ReportLink).url_for(day))
        mails.append(OutgoingMail(message_id, datetime.combine(day, time(), tzinfo=UTC), key,
                                  KIND, message))
        ledger.record_queued(day, key, route.recipients, message_id, count, now())
        echo(f"{day}: {key} digest of {count} violation(s) queued for "
             f"{', '.join(route.recipients)}")
        queued += 1
    outbox.enqueue(mails)
    delivery = deliver_pending(LedgerOutbox(outbox, ledger), mailer.connect, now)
    return NotifyOutcome(day, queued, already, delivery=delivery)


def notify_days(config: Config, days: Sequence[date], out: TextIO, *, force: bool = False,
                today: date | None = None) -> int:
    """The digests of `days`; exit 1 while some wait in the outbox (SMTP down):
    a rerun sends them, once."""
    from spark_app.common.cassandra_session import cassandra_session

    engine = engine_from_config(config)
    mailer = SmtpMailer.from_config(config)
    status = 0
    with cassandra_session(config, config.settings(CassandraSettings).keyspace) as session:
        outbox = CassandraOutbox(session, queue=QUEUE)
        for day in days:
            outcome = notify_day(engine, outbox, mailer, config, day, force=force, today=today,
                                 echo=lambda line: print(line, file=out, flush=True))
            delivery = outcome.delivery
            if delivery.sent:
                print(f"{day}: {delivery.sent} digest(s) sent", file=out)
            if delivery.still_pending:
                print(f"{day}: {delivery.still_pending} digest(s) wait in the outbox "
                      f"({delivery.error}); run `fleetwatch notify --day {day}` again once "
                      "SMTP is reachable: each goes once", file=out)
                status = 1
    return status


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None) if instant.tzinfo else instant
