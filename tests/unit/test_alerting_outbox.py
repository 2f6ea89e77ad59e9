"""The outbox's delivery rounds against an in-memory outbox and a scripted
SMTP server: nothing is dropped, nothing is sent twice, order is kept."""

import smtplib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from spark_app.alerts.outbox import PendingMail, StoredMail, deliver_pending

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class MemoryOutbox:
    def __init__(self):
        self.messages: dict[str, StoredMail] = {}
        self.queue: set[PendingMail] = set()
        self.errors: dict[str, str] = {}

    def enqueue(self, message_id: str, minute: int) -> None:
        message = EmailMessage()
        message["Subject"] = message_id
        message.set_content(message_id)
        if message_id not in self.messages:  # rewriting keeps sent_at, like CQL's upsert
            self.messages[message_id] = StoredMail(message_id, message, 0, None)
        self.queue.add(PendingMail(T0 + timedelta(minutes=minute), message_id))

    def pending(self):
        return sorted(self.queue, key=lambda item: (item.queued_for, item.message_id))

    def load(self, message_id):
        return self.messages.get(message_id)

    def mark_sent(self, item, sent_at):
        self.messages[item.message_id] = replace(self.messages[item.message_id], sent_at=sent_at)
        self.forget(item)

    def record_failure(self, stored, error):
        self.messages[stored.message_id] = replace(stored, attempts=stored.attempts + 1)
        self.errors[stored.message_id] = error

    def forget(self, item):
        self.queue.discard(item)


class ScriptedSmtp:
    """`down`: connecting fails; `refuse`: subjects the server rejects;
    `drop_after`: the connection breaks after this many messages."""

    def __init__(self, down=False, refuse=(), drop_after=None):
        self.down, self.refuse, self.drop_after = down, set(refuse), drop_after
        self.delivered: list[str] = []

    def connect(self):
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        return self

    def send_message(self, message):
        if self.drop_after is not None and len(self.delivered) >= self.drop_after:
            raise smtplib.SMTPServerDisconnected("connection lost")
        if message["Subject"] in self.refuse:
            raise smtplib.SMTPDataError(554, b"rejected")
        self.delivered.append(message["Subject"])
        return {}

    def quit(self):
        pass

    def close(self):
        pass


def deliver(outbox, smtp):
    return deliver_pending(outbox, smtp.connect, lambda: NOW)


def outbox_with(*ids):
    outbox = MemoryOutbox()
    for minute, message_id in enumerate(ids):
        outbox.enqueue(message_id, minute)
    return outbox


@pytest.mark.parametrize("smtp, delivered, pending, sent", [
    (ScriptedSmtp(), ["a", "b", "c"], [], 3),
    (ScriptedSmtp(down=True), [], ["a", "b", "c"], 0),
    (ScriptedSmtp(refuse={"b"}), ["a", "c"], ["b"], 2),
    (ScriptedSmtp(drop_after=1), ["a"], ["b", "c"], 1),
], ids=["server up", "server down", "one message refused", "connection drops"])
def test_one_delivery_round(smtp, delivered, pending, sent):
    outbox = outbox_with("a", "b", "c")
    report = deliver(outbox, smtp)
    assert smtp.delivered == delivered
    assert [item.message_id for item in outbox.pending()] == pending
    assert report.sent == sent and report.still_pending == len(pending)
    assert (report.error is None) == (not pending)


def test_down_then_up_delivers_everything_once_in_event_time_order():
    outbox = outbox_with("alert", "recovery")
    down = ScriptedSmtp(down=True)
    for _ in range(3):
        assert deliver(outbox, down).still_pending == 2
    assert outbox.messages["alert"].attempts == 3
    assert "Connection refused" in outbox.errors["alert"]
    up = ScriptedSmtp()
    assert deliver(outbox, up).sent == 2
    assert deliver(outbox, up).sent == 0
    assert up.delivered == ["alert", "recovery"]


def test_a_replayed_batch_queuing_a_sent_message_again_does_not_resend_it():
    outbox = outbox_with("alert")
    smtp = ScriptedSmtp()
    deliver(outbox, smtp)
    outbox.enqueue("alert", 0)  # the replay
    report = deliver(outbox, smtp)
    assert smtp.delivered == ["alert"]
    assert report.already_sent == 1 and outbox.pending() == []


def test_nothing_pending_means_no_connection():
    smtp = ScriptedSmtp(down=True)
    assert deliver(MemoryOutbox(), smtp).error is None
