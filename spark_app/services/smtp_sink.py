"""The embedded default's SMTP server: accepts every message on loopback and
stores it as one .eml file in a folder, so alerts can be read (and tested)
without a real mail relay.

In-process (tests): `with MailSink(folder, port=…) as sink: …` or start()/stop().
As a service: `python -m spark_app.services.smtp_sink --dir var/mail --port 8025`.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


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


class MailSink:
    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 8025):
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> MailSink:
        self.directory.mkdir(parents=True, exist_ok=True)
        controller = Controller(_StoreEachMessage(self.directory), hostname=self.host,
                                port=self.port)
        controller.start()  # returns once the server answers
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

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
    parser.add_argument("--port", type=int, default=8025)
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
