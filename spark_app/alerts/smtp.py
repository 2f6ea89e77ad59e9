"""Sending e-mail over SMTP (smtplib), with optional STARTTLS and login; the
password only ever comes from FLEETWATCH_SMTP_PASSWORD."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass

from spark_app.common.config import Config


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    starttls: bool = False
    username: str = ""
    password: str | None = None
    timeout_s: float = 10.0

    @classmethod
    def from_config(cls, config: Config) -> SmtpMailer:
        return cls(host=config.get("smtp", "host"), port=config.get("smtp", "port"),
                   starttls=config.get("smtp", "starttls"),
                   username=config.get("smtp", "username"),
                   password=config.secret("smtp", "password"),
                   timeout_s=config.get("smtp", "timeout_s"))

    def connect(self) -> smtplib.SMTP:
        """An open, authenticated connection; raises OSError or SMTPException."""
        connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

