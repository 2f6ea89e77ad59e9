"""The e-mail of an alert notice: subject and plain-text body naming the
equipment, its model, the window's average and max, the window and the threshold."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime

from spark_app.alerts.state_machine import Kind, Notice

_HEADLINES = {
    Kind.ALERT: "running hot",
    Kind.REMINDER: "still running hot",
    Kind.RECOVERY: "back to normal",
}


def subject(notice: Notice) -> str:
    window = notice.window
    model = notice.model or "model unknown"
    if notice.kind is Kind.RECOVERY:
        comparison = f"< {notice.threshold_c - notice.hysteresis_c:.1f} °C"
    else:
        comparison = f"> {notice.threshold_c:.1f} °C"
    return (f"[fleetwatch] {window.equipment_id} ({model}) {_HEADLINES[notice.kind]}: "
            f"average {window.avg_c:.1f} °C {comparison}")


def body(notice: Notice) -> str:
    window = notice.window
    lines = [
        f"Equipment:   {window.equipment_id}",
        f"Model:       {notice.model or 'unknown'}",
        f"Status:      {_HEADLINES[notice.kind]} ({notice.kind.value})",
        f"Average:     {window.avg_c:.1f} °C",
        f"Maximum:     {window.max_c:.1f} °C",
        f"Readings:    {window.readings}",
        f"Window:      {_utc(window.window_start)} – {_utc(window.window_end)}",
        f"Threshold:   {notice.threshold_c:.1f} °C",
    ]
    if notice.kind is Kind.RECOVERY:
        lines.append(f"Recovered below threshold - hysteresis "
                     f"({notice.threshold_c:.1f} - {notice.hysteresis_c:.1f} °C)")
    lines.append(f"Breach since: window ending {_utc(notice.breach_started)}")
    return "\n".join(lines) + "\n"


def compose(notice: Notice, sender: str, recipients: list[str],
            now: datetime | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject(notice)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    # The outbox id as Message-ID: a receiver can recognise a retried delivery.
    message["Message-ID"] = f"<{notice.message_id}@fleetwatch>"
    message["X-Fleetwatch-Equipment"] = notice.equipment_id
    message["X-Fleetwatch-Kind"] = notice.kind.value
    # quoted-printable keeps the stored .eml readable; only the ° and – are escaped
    message.set_content(body(notice), cte="quoted-printable")
    return message


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
