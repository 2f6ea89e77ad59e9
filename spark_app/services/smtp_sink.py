"""The embedded default's SMTP server: accepts every message on loopback and
stores it as one .eml file in a folder, so alerts can be read (and tested)
without a real mail relay.

In-process (tests): `with MailSink(folder, port=…) as sink: …` or start()/stop().
As a service: `python -m spark_app.services.smtp_sink --dir var/mail --port 8025`.

In-process it can also stand in for a relay that demands TLS and a login, to
test what a client sends: `tls` offers STARTTLS (or, with implicit_tls, TLS
from the first byte), `logins` makes AUTH required and lists the accepted
passwords. Every login attempt is recorded, with whether it came over TLS; AUTH
is answered without TLS too, so a client sending a password in clear is seen.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import ssl
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from spark_app.common.cli_args import tcp_port


class _StoreEachMessage:
    """aiosmtpd handler: one file per message, written under a dot-name and
    renamed, so a reader never sees half a message."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._sequence = itertools.count()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        name = f"{time.time_ns()}-{os.getpid()}-{next(self._sequence):06d}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.directory / name)
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class LoginAttempt:
    username: str
    over_tls: bool
    accepted: bool


class MailSink:
    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 8025,
                 tls: ssl.SSLContext | None = None, implicit_tls: bool = False,
                 logins: Mapping[str, str] | None = None):
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.logins = dict(logins or {})
        self.login_attempts: list[LoginAttempt] = []
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        self.directory.mkdir(parents=True, exist_ok=True)
        security = {}
        if self.tls is not None:
            security["ssl_context" if self.implicit_tls else "tls_context"] = self.tls
        if self.logins:
            security.update(authenticator=self._check_login, auth_required=True,
                            auth_require_tls=False)
        controller = Controller(_StoreEachMessage(self.directory), hostname=self.host,
                                port=self.port, **security)
        controller.start()  # returns once the server answers
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _check_login(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        accepted = (isinstance(auth_data, LoginPassword)
                    and self.logins.get(auth_data.login.decode()) == auth_data.password.decode())
        username = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else ""
        # session.ssl is set by STARTTLS; with implicit TLS the transport itself is TLS
        over_tls = session.ssl is not None or \
            server.transport.get_extra_info("ssl_object") is not None
        self.login_attempts.append(LoginAttempt(username, over_tls, accepted))
        return AuthResult(success=accepted, handled=False)  # False: aiosmtpd answers 535

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        """The stored messages, oldest first."""
        return [read_message(path) for path in stored_files(self.directory)]


def stored_files(directory: Path) -> list[Path]:
    # names start with the receipt time in ns: name order is arrival order
    return sorted(Path(directory).glob("*.eml"))


def read_message(path: Path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spark_app.services.smtp_sink",
        description="Loopback SMTP server storing each message as a .eml file.")
    parser.add_argument("--dir", required=True, type=Path, help="folder for the .eml files")
    parser.add_argument("--port", type=tcp_port, default=8025)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    sink = MailSink(args.dir, args.host, args.port).start()
    print(f"mail sink: SMTP on {args.host}:{args.port}, storing messages in {args.dir}",
          flush=True)
    try:
        stopping.wait()
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
