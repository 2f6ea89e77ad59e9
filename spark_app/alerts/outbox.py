"""The outbox: every e-mail is stored before anyone tries to send it, and stays
until an SMTP server has accepted it. Nothing is dropped when SMTP is down: a
later delivery round (the next micro-batch, the next start) sends it.

Tables mail_outbox (the message, by id) and mail_pending (what is left to send,
oldest event first). Delivery is idempotent per message id: a message already
marked sent is never handed to SMTP again, even if a replayed batch queues it
anew. The one remaining window is a crash between the server's acceptance and
the `sent_at` write; the stable Message-ID header lets a receiver spot that rare
duplicate.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Protocol

from spark_app.common.cassandra_retry import ONCE, CassandraRetry

QUEUE = "smtp"
# A stored message parsed back and sent: refolding its headers at 78 columns may
# fold right after "Subject:" (the receiver reads a leading space), so they are
# sent as stored; RFC 5322 allows 998.
_STORED = policy.default.clone(max_line_length=998)
CONCURRENCY = 32
# The server refused this one message: the next ones may still go. Any other
# error (smtplib's are OSErrors too) is the connection's: the round ends there.
_MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError)


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str
    queued_for: datetime  # event time of the notice: orders delivery, same on a replay
    equipment_id: str
    kind: str
    message: EmailMessage


@dataclass(frozen=True)
class PendingMail:
    queued_for: datetime
    message_id: str


@dataclass(frozen=True)
class StoredMail:
    message_id: str
    message: EmailMessage
    attempts: int
    sent_at: datetime | None


@dataclass(frozen=True)
class DeliveryReport:
    sent: int = 0
    already_sent: int = 0
    still_pending: int = 0
    error: str | None = None


class Outbox(Protocol):
    def pending(self) -> list[PendingMail]: ...
    def load(self, message_id: str) -> StoredMail | None: ...
    def mark_sent(self, item: PendingMail, sent_at: datetime) -> None: ...
    def record_failure(self, stored: StoredMail, error: str) -> None: ...
    def forget(self, item: PendingMail) -> None: ...


def deliver_pending(outbox: Outbox, connect: Callable[[], smtplib.SMTP],
                    now: Callable[[], datetime] = lambda: datetime.now(UTC)
                    ) -> DeliveryReport:
    """One delivery round over the pending messages, oldest first. A connection
    failure ends the round (everything left stays pending); a message the server
    refuses stays pending with its error while the others go on."""
    pending = outbox.pending()
    if not pending:
        return DeliveryReport()
    try:
        connection = connect()
    except OSError as error:
        first = outbox.load(pending[0].message_id)
        if first is not None:
            outbox.record_failure(first, _describe(error))
        return DeliveryReport(still_pending=len(pending), error=_describe(error))
    sent = already_sent = refused = 0
    last_error = None
    try:
        for position, item in enumerate(pending):
            stored = outbox.load(item.message_id)
            if stored is None or stored.sent_at is not None:
                # expired, or already sent before a replayed batch queued it again
                outbox.forget(item)
                already_sent += stored is not None
                continue
            try:
                refusals = connection.send_message(stored.message)
            except _MESSAGE_REFUSED as error:
                outbox.record_failure(stored, _describe(error))
                refused += 1
                last_error = _describe(error)
                continue
            except OSError as error:
                outbox.record_failure(stored, _describe(error))
                return DeliveryReport(sent, already_sent, refused + len(pending) - position,
                                      _describe(error))
            outbox.mark_sent(item, now())
            sent += 1
            if refusals:  # accepted for the others: resending would duplicate theirs
                outbox.record_failure(stored, f"recipients refused: {refusals}")
    finally:
        _close_quietly(connection)
    return DeliveryReport(sent, already_sent, refused, last_error)


def _close_quietly(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


class CassandraOutbox:
    """The outbox in Cassandra; `session` is on the fleetwatch keyspace. `retry`:
    how each failing request is retried, in place: every one is an upsert, a
    delete or a read, and marking a message sent must not wait for a new
    delivery round (that would hand the message to SMTP again)."""

    def __init__(self, session, queue: str = QUEUE, retry: CassandraRetry = ONCE):
        self._session = session
        self._queue = queue
        self._retry = retry
        self._insert_message = session.prepare(
            "INSERT INTO mail_outbox (message_id, queued_for, equipment_id, kind, subject, "
            "message) VALUES (?, ?, ?, ?, ?, ?)")
        self._insert_pending = session.prepare(
            "INSERT INTO mail_pending (queue, queued_for, message_id) VALUES (?, ?, ?)")
        self._select_pending = session.prepare(
            "SELECT queued_for, message_id FROM mail_pending WHERE queue = ?")
        self._select_message = session.prepare(
            "SELECT message_id, message, attempts, sent_at FROM mail_outbox WHERE message_id = ?")
        self._update_sent = session.prepare(
            "UPDATE mail_outbox SET sent_at = ? WHERE message_id = ?")
        self._update_failure = session.prepare(
            "UPDATE mail_outbox SET attempts = ?, last_error = ? WHERE message_id = ?")
        self._delete_pending = session.prepare(
            "DELETE FROM mail_pending WHERE queue = ? AND queued_for = ? AND message_id = ?")

    def enqueue(self, mails: Iterable[OutgoingMail]) -> int:
        """Stores the messages, then lists them as pending (so a pending entry never
        points at a missing message). Rewriting a message leaves sent_at alone."""
        from cassandra.concurrent import execute_concurrent_with_args

        mails = list(mails)
        messages = [(m.message_id, m.queued_for, m.equipment_id, m.kind, m.message["Subject"],
                     m.message.as_string()) for m in mails]
        self._retry.call("queuing e-mails", lambda: execute_concurrent_with_args(
            self._session, self._insert_message, messages, concurrency=CONCURRENCY,
            raise_on_first_error=True))
        pending = [(self._queue, m.queued_for, m.message_id) for m in mails]
        self._retry.call("listing queued e-mails as pending", lambda: execute_concurrent_with_args(
            self._session, self._insert_pending, pending, concurrency=CONCURRENCY,
            raise_on_first_error=True))
        return len(mails)

    def pending(self) -> list[PendingMail]:
        rows = self._execute("reading the pending e-mails", self._select_pending, (self._queue,))
        return [PendingMail(_utc(row.queued_for), row.message_id) for row in rows]

    def load(self, message_id: str) -> StoredMail | None:
        row = self._execute("reading a queued e-mail", self._select_message, (message_id,)).one()
        if row is None or row.message is None:
            return None
        return StoredMail(row.message_id, message_from_string(row.message, policy=_STORED),
                          row.attempts or 0, _utc(row.sent_at))

    def mark_sent(self, item: PendingMail, sent_at: datetime) -> None:
        self._execute("marking an e-mail sent", self._update_sent, (sent_at, item.message_id))
        self.forget(item)

    def record_failure(self, stored: StoredMail, error: str) -> None:
        self._execute("recording a failed delivery", self._update_failure,
                      (stored.attempts + 1, error, stored.message_id))

    def forget(self, item: PendingMail) -> None:
        self._execute("removing an e-mail from the pending list", self._delete_pending,
                      (self._queue, item.queued_for, item.message_id))

    def _execute(self, what: str, statement, parameters: tuple):
        return self._retry.call(what, lambda: self._session.execute(statement, parameters))


def _utc(instant: datetime | None) -> datetime | None:
    return instant.replace(tzinfo=UTC) if instant is not None else None
