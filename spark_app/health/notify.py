"""The operations e-mail: one message per finding or per task event, through the
mail outbox (queue "ops"), so a message is sent once however often it is
queued: a rerun of the check, a retried callback."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from spark_app.alerts.outbox import CassandraOutbox, DeliveryReport, OutgoingMail, deliver_pending
from spark_app.alerts.smtp import SmtpMailer
from spark_app.common.config import Config
from spark_app.common.settings import SmtpSettings
from spark_app.health.checks import Finding
from spark_app.health.settings import HealthSettings

QUEUE = "ops"
# Stored in the outbox as text unfolded (RFC 5322 allows 998 columns): a header
# folded at 78 here is refolded once parsed back, after "Subject:" at times.
_POLICY = policy.default.clone(max_line_length=998)
_NOT_IN_MESSAGE_ID = re.compile(r"[^A-Za-z0-9._+-]")


def compose(key: str, subject: str, body: str, config: Config,
            now: datetime) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["From"] = config.settings(SmtpSettings).sender
    message["To"] = ", ".join(config.settings(HealthSettings).recipients
                              or config.settings(SmtpSettings).recipients)
    message["Subject"] = f"[fleetwatch ops] {subject}"
    message["Date"] = format_datetime(now)
    # The outbox key as Message-ID: a receiver can recognise a retried delivery.
    message["Message-ID"] = f"<{_NOT_IN_MESSAGE_ID.sub('-', key)}@fleetwatch>"
    message["X-Fleetwatch-Ops"] = key
    message.set_content(body)
    return message


def finding_mail(finding: Finding, config: Config, now: datetime) -> OutgoingMail:
    body = (f"{finding.reason}\n\nCheck:   {finding.check}\nAbout:   {finding.subject}\n"
            f"Seen:    {now:%Y-%m-%dT%H:%M:%SZ}\n\n"
            "`fleetwatch health` lists what is wrong now; this message is sent once.\n")
    return OutgoingMail(finding.key, now, finding.subject, f"health-{finding.check}",
                        compose(finding.key, finding.reason, body, config, now))


def task_mail(event: str, dag_id: str, task_id: str, run_id: str, try_number: int,
              detail: str, log_url: str, config: Config, now: datetime) -> OutgoingMail:
    """A task failed for good (`failed`) or will be tried again (`retry`)."""
    key = f"task-{event}-{dag_id}-{task_id}-{run_id}-{try_number}"
    what = "failed" if event == "failed" else "failed and will be retried"
    subject = f"{dag_id}.{task_id} {what} (try {try_number}, run {run_id})"
    lines = [f"Task {task_id} of DAG {dag_id} {what}.", "", f"Run:   {run_id}",
             f"Try:   {try_number}"] + ([f"Log:   {log_url}"] if log_url else [])
    body = "\n".join(lines + ["", detail.strip()]) + "\n"
    return OutgoingMail(key, now, f"{dag_id}.{task_id}", f"task-{event}",
                        compose(key, subject, body, config, now))


def send(session, config: Config, mails: list[OutgoingMail]) -> DeliveryReport:
    """Queue the mails (a message already sent stays sent) and deliver what is
    pending in the ops queue, this round's and any earlier round's left over."""
    outbox = CassandraOutbox(session, queue=QUEUE)
    outbox.enqueue(mails)
    return deliver_pending(outbox, SmtpMailer.from_config(config).connect,
                           now=lambda: datetime.now(UTC))
