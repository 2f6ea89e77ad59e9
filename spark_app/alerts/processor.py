"""One micro-batch of windows through the alerting, on the driver:
load states -> evaluate (pure) -> queue e-mails -> save states -> deliver.

The order makes a crash anywhere safe: e-mails are queued before the state
that caused them is saved, so a replayed batch recomputes the same notices
(same message ids: queuing again changes nothing) and a message already sent
is never sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from spark_app.alerts import message as alert_mail
from spark_app.alerts.outbox import CassandraOutbox, DeliveryReport, OutgoingMail, deliver_pending
from spark_app.alerts.smtp import SmtpMailer
from spark_app.alerts.state_machine import AlertPolicy, AlertState, Notice, WindowStat, evaluate
from spark_app.alerts.store import AlertStateStore
from spark_app.alerts.thresholds import ThresholdSource


@dataclass(frozen=True)
class Recipients:
    sender: str
    to: list[str]


@dataclass(frozen=True)
class BatchAlerts:
    windows: int
    stale_windows: int
    notices: list[Notice]
    delivery: DeliveryReport


class AlertProcessor:
    def __init__(self, states: AlertStateStore, outbox: CassandraOutbox,
                 thresholds: ThresholdSource, policy: AlertPolicy, mailer: SmtpMailer,
                 recipients: Recipients,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._states = states
        self._outbox = outbox
        self._thresholds = thresholds
        self._policy = policy
        self._mailer = mailer
        self._recipients = recipients
        self._clock = clock
        # The stream is the only writer of temperature_alerts: what it saved, it
        # knows, so each equipment is read from Cassandra once per run.
        self._known: dict[str, AlertState] = {}

    def process(self, windows: list[WindowStat]) -> BatchAlerts:
        missing = {w.equipment_id for w in windows} - self._known.keys()
        known = {**self._known, **self._states.load(missing)} if missing else self._known
        evaluation = evaluate(known, windows, self._thresholds.current(), self._policy)
        now = self._clock()
        self._outbox.enqueue(self._mail(notice, now) for notice in evaluation.notices)
        self._states.save(evaluation.states.values(), now)
        self._known = {**known, **evaluation.states}
        return BatchAlerts(len(windows), evaluation.stale_windows, evaluation.notices,
                           self.deliver())

    def deliver(self) -> DeliveryReport:
        return deliver_pending(self._outbox, self._mailer.connect, self._clock)

    def _mail(self, notice: Notice, now: datetime) -> OutgoingMail:
        message = alert_mail.compose(notice, self._recipients.sender, self._recipients.to, now)
        return OutgoingMail(notice.message_id, notice.window.window_end, notice.equipment_id,
                            notice.kind.value, message)
