"""Local services for the embedded defaults: a single Cassandra 5.0 node
started from the jars Maven fetched, with data and logs under var/cassandra.

`start` is idempotent (a running node of ours is left alone), waits until CQL
answers, and records the pid; `stop` signals exactly the recorded process,
after checking that it still is our Cassandra.
"""

from __future__ import annotations

import logging
import re
import subprocess
import time
from pathlib import Path

from spark_app.common import jars
from spark_app.common.config import PROJECT_HOME, Config
from spark_app.common.settings import CassandraSettings
from spark_app.services.process import (
    ServiceError,
    Status,
    java,
    port_open,
    recorded_pid,
    stop_recorded,
)

log = logging.getLogger(__name__)

CASSANDRA_CONF = PROJECT_HOME / "conf" / "cassandra"
CASSANDRA_MAIN = "org.apache.cassandra.service.CassandraDaemon"


class LocalCassandra:
    def __init__(self, config: Config):
        self.config = config
        self.root = config.var_dir / "cassandra"
        self.log_dir = self.root / "logs"
        self.pid_file = config.var_dir / "run" / "cassandra.pid"
        self.host = "127.0.0.1"
        self.settings = config.settings(CassandraSettings)
        self.port = self.settings.port

    # ---- state -------------------------------------------------------------
    def pid(self) -> int | None:
        """The recorded pid if that process is alive and is our Cassandra."""
        return recorded_pid(self.pid_file, CASSANDRA_MAIN, f"-Dcassandra.storagedir={self.root}")

    def status(self) -> Status:
        pid = self.pid()
        answering = port_open(self.host, self.port)
        detail = f"CQL on {self.host}:{self.port}" if answering else ""
        if answering and not pid:
            detail = f"port {self.port} answers, but not from a node this project started"
        return Status("cassandra", pid, answering and pid is not None, detail)

    # ---- start / stop ------------------------------------------------------
    def node_yaml(self) -> Path:
        """conf/cassandra/cassandra.yaml with this node as its only seed. Every node
        this project starts is a cluster of its own: with a shared seed a second
        node (another var folder, other ports) would join the first one's ring and
        leave its tokens there when stopped, making the first answer Unavailable."""
        storage_port = self.settings.storage_port
        template = (CASSANDRA_CONF / "cassandra.yaml").read_text()
        rendered, count = re.subn(r'- seeds: "[^"]*"', f'- seeds: "127.0.0.1:{storage_port}"',
                                  template)
        if count != 1:
            raise ServiceError("conf/cassandra/cassandra.yaml must have exactly one seeds line")
        path = self.root / "conf" / "cassandra.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
        return path

    def command(self) -> list[str]:
        jar_dir = jars.ensure_bundle(self.config, "cassandra")
        jamm = next(jar_dir.glob("jamm-*.jar"), None)
        if jamm is None:
            raise ServiceError(f"jamm agent jar missing from {jar_dir}")
        heap = self.settings.heap
        flags = [line.strip() for line in
                 (CASSANDRA_CONF / "jvm17-server.options").read_text().splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        return [
            java(), *flags, f"-Xms{heap}", f"-Xmx{heap}",
            f"-javaagent:{jamm}",
            f"-Dcassandra.config=file://{self.node_yaml()}",
            f"-Dlogback.configurationFile=file://{CASSANDRA_CONF / 'logback.xml'}",
            f"-Dcassandra.storagedir={self.root}",
            f"-Dcassandra.logdir={self.log_dir}",
            f"-Dcassandra.native_transport_port={self.port}",
            f"-Dcassandra.storage_port={self.settings.storage_port}",
            "-Dcassandra-foreground=yes",
            "-cp", f"{jar_dir}/*", CASSANDRA_MAIN,
        ]

    def start(self, echo=log.info) -> Status:
        if self.pid():
            self._wait_for_cql(self.pid())
            return self.status()
        if port_open(self.host, self.port):
            raise ServiceError(
                f"port {self.port} already answers but not from a Cassandra this project "
                "started; stop it or set FLEETWATCH_CASSANDRA_PORT to another port")
        command = self.command()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        echo(f"starting Cassandra on {self.host}:{self.port} (logs in {self.log_dir})")
        began = time.monotonic()
        with open(self.log_dir / "stdout.log", "ab") as out:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       cwd=self.root)
        self.pid_file.write_text(f"{process.pid}\n")
        self._wait_for_cql(process.pid, process)
        echo(f"Cassandra answers CQL after {time.monotonic() - began:.1f}s (pid {process.pid})")
        return self.status()

    def _wait_for_cql(self, pid: int, process: subprocess.Popen | None = None) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise ServiceError(
                    f"Cassandra exited with code {process.returncode} while starting:\n"
                    + self._log_tail())
            if port_open(self.host, self.port) and _cql_answers(self.config, self.host,
                                                                self.port):
                return
            time.sleep(0.5)
        raise ServiceError(f"Cassandra (pid {pid}) did not answer CQL within "
                           f"{self.settings.start_timeout_s}s "
                           f"(cassandra.start_timeout_s):\n" + self._log_tail())

    def _log_tail(self, lines: int = 25) -> str:
        for name in ("stdout.log", "system.log"):
            path = self.log_dir / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                return f"--- {path} ---\n" + "\n".join(tail)
        return "(no log written)"

    def stop(self, echo=log.info, timeout_s: float = 60) -> bool:
        return stop_recorded(self.pid(), self.pid_file, "Cassandra", echo, timeout_s)


def _cql_answers(config: Config, host: str, port: int) -> bool:
    """Whether the node answers a query, logged in and over TLS as configured (a node
    with PasswordAuthenticator creates its first role a while after CQL opens)."""
    # heavy imports, only when starting
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    from spark_app.common.cassandra_session import auth_provider, tls_context

    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=5)
    cluster = Cluster([host], port=port, connect_timeout=5, protocol_version=5,
                      auth_provider=auth_provider(config), ssl_context=tls_context(config),
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    try:
        session = cluster.connect()
        session.execute("SELECT release_version FROM system.local")
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False
    finally:
        cluster.shutdown()
