"""Sending e-mail over SMTP (smtplib): implicit TLS (smtp.ssl), STARTTLS
(smtp.starttls) or neither, and login; the password only ever comes from
FLEETWATCH_SMTP_PASSWORD.

A login over a connection without TLS would send the password in clear, so it
is refused unless smtp.allow_plaintext_password says the risk is accepted.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field

from spark_app.common.config import Config, ConfigError
from spark_app.common.settings import SmtpSettings


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    starttls: bool = False
    implicit_tls: bool = False
    ca_file: str = ""  # PEM of the server's CA; empty: the system's trust store
    username: str = ""
    password: str | None = field(default=None, repr=False)  # never in a log line
    allow_plaintext_password: bool = False
    timeout_s: float = 10.0

    def __post_init__(self):
        if self.username and not self.encrypted and not self.allow_plaintext_password:
            raise ConfigError(
                f"SMTP login as {self.username!r} to {self.host}:{self.port} would send the "
                "password unencrypted: set smtp.starttls (FLEETWATCH_SMTP_STARTTLS) or smtp.ssl "
                "(FLEETWATCH_SMTP_SSL), or accept that anyone on the network path can read "
                "it with smtp.allow_plaintext_password = true")

    @classmethod
    def from_config(cls, config: Config) -> SmtpMailer:
        smtp = config.settings(SmtpSettings)
        return cls(host=smtp.host, port=smtp.port, starttls=smtp.starttls,
                   implicit_tls=smtp.ssl, ca_file=str(smtp.ca_file or ""),
                   username=smtp.username, password=config.secret("smtp", "password"),
                   allow_plaintext_password=smtp.allow_plaintext_password,
                   timeout_s=smtp.timeout_s)

    @property
    def encrypted(self) -> bool:
        return self.starttls or self.implicit_tls

    def connect(self) -> smtplib.SMTP:
        """An open, authenticated connection; raises OSError or SMTPException."""
        if self.implicit_tls:
            connection = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                          context=self._tls_context())
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            if self.starttls and not self.implicit_tls:
                connection.starttls(context=self._tls_context())
            if self.username:
                connection.login(self.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)
