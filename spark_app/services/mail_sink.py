"""The loopback SMTP server of the embedded defaults as a background service:
`python -m spark_app.services.smtp_sink` on smtp.port, storing messages in smtp.sink_dir.

Like LocalCassandra: `start` is idempotent and records the pid, `stop`
signals exactly the recorded process after checking it still is our sink.
Only started when smtp.host is this machine: with a real relay configured
there is nothing to run here.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

from spark_app.common.config import Config
from spark_app.common.settings import SmtpSettings
from spark_app.services.process import ServiceError, Status, port_open, recorded_pid, stop_recorded

log = logging.getLogger(__name__)

SINK_MODULE = "spark_app.services.smtp_sink"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
START_TIMEOUT_S = 20


class LocalMailSink:
    name = "mail-sink"

    def __init__(self, config: Config):
        self.config = config
        self.host = "127.0.0.1"
        self.smtp = config.settings(SmtpSettings)
        self.port = self.smtp.port
        self.directory = self.smtp.sink_dir
        self.pid_file = config.var_dir / "run" / "mail-sink.pid"
        self.log_file = config.var_dir / "run" / "mail-sink.log"

    @property
    def wanted(self) -> bool:
        """Whether the configured SMTP server is this machine's loopback sink."""
        return self.smtp.host in LOOPBACK_HOSTS

    def pid(self) -> int | None:
        """The recorded pid if that process is alive and is our sink."""
        return recorded_pid(self.pid_file, SINK_MODULE, str(self.directory))

    def status(self) -> Status:
        pid = self.pid()
        answering = port_open(self.host, self.port)
        detail = f"SMTP on {self.host}:{self.port}, messages in {self.directory}" if answering else ""
        if answering and not pid:
            detail = f"port {self.port} answers, but not from a sink this project started"
        return Status(self.name, pid, answering and pid is not None, detail)

    def start(self, echo=log.info) -> Status:
        if self.pid():
            return self.status()
        if port_open(self.host, self.port):
            raise ServiceError(
                f"port {self.port} already answers but not from a mail sink this project "
                "started; stop it or set FLEETWATCH_SMTP_PORT to another port")
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", SINK_MODULE, "--dir", str(self.directory),
                   "--host", self.host, "--port", str(self.port)]
        with open(self.log_file, "ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open(self.host, self.port):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                self.pid_file.unlink(missing_ok=True)
                raise ServiceError(f"the mail sink did not start; see {self.log_file}")
            time.sleep(0.1)
        echo(f"mail sink answers SMTP on {self.host}:{self.port} (pid {process.pid})")
        return self.status()

    def stop(self, echo=log.info, timeout_s: float = 10) -> bool:
        return stop_recorded(self.pid(), self.pid_file, "the mail sink", echo, timeout_s)


def local_services(config: Config) -> list:
    """The services this machine runs for the embedded defaults, in start order:
    Cassandra, and the SMTP sink when SMTP points at this machine."""
    from spark_app.services.cassandra import LocalCassandra

    mail_sink = LocalMailSink(config)
    return [LocalCassandra(config)] + ([mail_sink] if mail_sink.wanted else [])
