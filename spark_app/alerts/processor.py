"""One micro-batch of windows through the alerting, on the driver:
load states -> evaluate (pure) -> queue e-mails -> record episodes -> save
states -> deliver.

The order makes a crash anywhere safe: e-mails are queued and episodes written
before the state that caused them is saved, so a replayed batch recomputes the
same notices (same message ids: queuing again changes nothing) and the same
episode values, and a message already sent is never sent again. Who gets an
e-mail, and whether a silence withholds it, is the audience's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from spark_app.alerts import message as alert_mail
from spark_app.alerts.breaches import BreachStore
from spark_app.alerts.outbox import CassandraOutbox, DeliveryReport, OutgoingMail, deliver_pending
from spark_app.alerts.smtp import SmtpMailer
from spark_app.alerts.state_machine import AlertPolicy, AlertState, Notice, WindowStat, evaluate
from spark_app.alerts.store import AlertStateStore
from spark_app.alerts.thresholds import ThresholdSource


class Audience(Protocol):
    """Who is told about an equipment's alerts, and when a silence says nobody."""

    def prepare(self, equipment_ids: set[str]) -> None:
        """Called once per batch with its equipment, before the questions below."""

    def recipients(self, equipment_id: str, model: str | None) -> list[str]: ...

    def silenced(self, equipment_id: str, model: str | None, at: datetime) -> bool: ...


@dataclass(frozen=True)
class BatchAlerts:
    windows: int
    stale_windows: int
    notices: list[Notice]
    delivery: DeliveryReport


class AlertProcessor:
    def __init__(self, states: AlertStateStore, outbox: CassandraOutbox,
                 thresholds: ThresholdSource, policy: AlertPolicy, mailer: SmtpMailer,
                 sender: str, audience: Audience, breaches: BreachStore,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._states = states
        self._outbox = outbox
        self._thresholds = thresholds
        self._policy = policy
        self._mailer = mailer
        self._sender = sender
        self._audience = audience
        self._breaches = breaches
        self._clock = clock
        # The stream is the only writer of temperature_alerts: what it saved, it
        # knows, so each equipment is read from Cassandra once per run.
        self._known: dict[str, AlertState] = {}

    def process(self, windows: list[WindowStat]) -> BatchAlerts:
        missing = {w.equipment_id for w in windows} - self._known.keys()
        known = {**self._known, **self._states.load(missing)} if missing else self._known
        self._audience.prepare({w.equipment_id for w in windows})
        evaluation = evaluate(known, windows, self._thresholds.current(), self._policy,
                              self._audience.silenced)
        now = self._clock()
        self._outbox.enqueue(self._mail(notice, now) for notice in evaluation.notices
                             if not notice.silenced)
        if evaluation.episodes:
            self._breaches.record(evaluation.episodes)
        self._states.save(evaluation.states.values(), now)
        self._known = {**known, **evaluation.states}
        return BatchAlerts(len(windows), evaluation.stale_windows, evaluation.notices,
                           self.deliver())

    def deliver(self) -> DeliveryReport:
        return deliver_pending(self._outbox, self._mailer.connect, self._clock)

    def _mail(self, notice: Notice, now: datetime) -> OutgoingMail:
        message = alert_mail.compose(
            notice, self._sender, self._audience.recipients(notice.equipment_id, notice.model),
            now)
        return OutgoingMail(notice.message_id, notice.window.window_end, notice.equipment_id,
                            notice.kind.value, message)
