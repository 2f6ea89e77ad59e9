"""Helpers for the temperature stream tests: readings files, a configuration
of temporary folders and a loopback SMTP port, the e-mails of one equipment."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from spark_app.common.config import Config, load_config
from spark_app.services.smtp_sink import MailSink
from tests.support.kafka import free_port

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
STREAM_TABLES = ("temperature_alerts", "mail_outbox", "mail_pending")


def unique_id(name: str) -> str:
    """Equipment ids unique to a test run: the tables outlive the run."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def reading_lines(equipment_id: str, model: str | None, from_minute: float, to_minute: float,
                  temperature_c: float, every_s: int = 30) -> list[str]:
    lines = []
    seconds = int(from_minute * 60)
    while seconds < to_minute * 60:
        ts = T0 + timedelta(seconds=seconds)
        record = {"equipment_id": equipment_id, "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "temperature_c": temperature_c}
        if model:
            record["model"] = model
        lines.append(json.dumps(record))
        seconds += every_s
    return lines


def drop_file(directory: Path, name: str, lines: list[str], age_s: float = 0.0) -> Path:
    """Writes under a dot-name, renames (the stream never sees half a file) and
    sets the modification time `age_s` in the past (files are read oldest first)."""
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{name}"
    partial.write_text("\n".join(lines) + "\n")
    final = partial.rename(directory / name)
    stamp = time.time() - age_s
    os.utime(final, (stamp, stamp))
    return final


def stream_environment(tmp_path: Path, smtp_port: int, **settings: str) -> dict[str, str]:
    """The suite's environment (keyspace included) with this test's folders,
    database and SMTP port; `settings`: more FLEETWATCH_* overrides."""
    return {
        **os.environ,
        "FLEETWATCH_STREAM_SOURCE_DIR": str(tmp_path / "readings"),
        "FLEETWATCH_STREAM_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "FLEETWATCH_SMTP_HOST": "127.0.0.1",
        "FLEETWATCH_SMTP_PORT": str(smtp_port),
        "FLEETWATCH_SMTP_TIMEOUT_S": "5",
        "FLEETWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fleetwatch.db'}",
        **settings,
    }


def stream_config(tmp_path: Path, smtp_port: int, **settings: str) -> Config:
    """The configuration of `stream_environment`, its relational tables created."""
    config = load_config(environ=stream_environment(tmp_path, smtp_port, **settings))
    from spark_app.common.relational import create_tables, engine_from_config
    create_tables(engine_from_config(config))
    return config


def new_sink(tmp_path: Path) -> MailSink:
    return MailSink(tmp_path / "mail", port=free_port())


def emails_about(sink: MailSink, equipment_id: str) -> list[EmailMessage]:
    return [message for message in sink.messages()
            if message["X-Fleetwatch-Equipment"] == equipment_id]


def body_value(message: EmailMessage, label: str) -> str:
    match = re.search(rf"^{label}:\s+(.+?)\s*$", message.get_content(), re.MULTILINE)
    assert match, f"no {label!r} line in:\n{message.get_content()}"
    return match.group(1)


def degrees(text: str) -> float:
    return float(text.split()[0])
