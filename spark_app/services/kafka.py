"""A local single-node Kafka (KRaft: broker and controller in one JVM) from the jars
of conf/jvm/kafka-broker, for `fleetwatch services start --kafka` and the tests of
the Kafka source.

It listens on stream.kafka_bootstrap (a loopback port) without TLS or login, as
the local Cassandra does, and runs its controller on kafka.controller_port. Data,
log and configuration live under <var>/kafka; like LocalCassandra, `start` is
idempotent and records the pid, `stop` ends exactly that process.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import time
import uuid
from pathlib import Path

from spark_app.common import jars
from spark_app.common.config import Config, ConfigError
from spark_app.common.kafka import KafkaSettings, KafkaTopic
from spark_app.services.process import (
    ServiceError,
    Status,
    java,
    port_open,
    recorded_pid,
    stop_recorded,
)

log = logging.getLogger(__name__)

BROKER_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 90


def loopback_port(bootstrap: str) -> int:
    """The port of a bootstrap address naming this machine, the local broker's."""
    host, _, port = bootstrap.strip().rpartition(":")
    if host not in (LOOPBACK, "localhost") or not port.isdigit():
        raise ConfigError(
            f"stream.kafka_bootstrap is {bootstrap!r}: the local broker listens on this "
            f"machine only; set FLEETWATCH_STREAM_KAFKA_BOOTSTRAP={LOOPBACK}:PORT")
    return int(port)


class LocalKafka:
    name = "kafka"

    def __init__(self, config: Config, root: Path | None = None, broker_port: int | None = None,
                 controller_port: int | None = None, partitions: int = 2,
                 extra_properties: tuple[str, ...] = ()):
        """root: where data, log and pid file live (default <var>/kafka and <var>/run);
        the ports default to stream.kafka_bootstrap's and kafka.controller_port;
        extra_properties: more `key=value` broker settings, which win over ours
        (other listeners, say)."""
        self.config = config
        self.root = root or config.var_dir / "kafka"
        self.pid_file = (self.root if root else config.var_dir / "run") / "kafka.pid"
        self.log_file = self.root / "kafka.log"
        self.properties = self.root / "server.properties"
        self.port = broker_port or loopback_port(config.settings(KafkaTopic).kafka_bootstrap)
        self.controller_port = controller_port or config.settings(KafkaSettings).controller_port
        self.partitions = partitions
        self.extra_properties = extra_properties

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def classpath(self) -> str:
        return f"{jars.ensure_bundle(self.config, 'kafka-broker')}/*"

    # ---- state -------------------------------------------------------------
    def pid(self) -> int | None:
        return recorded_pid(self.pid_file, BROKER_MAIN, str(self.properties))

    def status(self) -> Status:
        pid = self.pid()
        answering = port_open(LOOPBACK, self.port)
        detail = f"broker on {self.bootstrap}" if answering else ""
        if answering and not pid:
            detail = f"port {self.port} answers, but not from a broker this project started"
        return Status(self.name, pid, answering and pid is not None, detail)

    # ---- start / stop ------------------------------------------------------
    def start(self, echo=log.info) -> Status:
        if self.pid():
            self._wait_for_port(self.pid())
            return self.status()
        for port, key in ((self.port, "stream.kafka_bootstrap"),
                          (self.controller_port, "kafka.controller_port")):
            if port_open(LOOPBACK, port):
                raise ServiceError(f"port {port} ({key}) already answers but not from a broker "
                                   "this project started; stop it or choose another port")
        java_command = [java(), "-Xmx512m", "-cp", self.classpath()]
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_properties()
        if not (self.root / "data" / "meta.properties").exists():
            result = subprocess.run(
                # one argument with "=": a random id may begin with "-"
                [*java_command, STORAGE_TOOL, "format", f"--cluster-id={_cluster_id()}",
                 "-c", str(self.properties), "--standalone"],
                capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                raise ServiceError(f"formatting Kafka's storage failed:\n{result.stdout}"
                                   f"{result.stderr}"[-3000:])
        echo(f"starting Kafka on {self.bootstrap} (log in {self.log_file})")
        began = time.monotonic()
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as out:
            process = subprocess.Popen([*java_command, BROKER_MAIN, str(self.properties)],
                                       stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid_file.write_text(f"{process.pid}\n")
        self._wait_for_port(process.pid, process)
        echo(f"Kafka answers on {self.bootstrap} after {time.monotonic() - began:.1f}s "
             f"(pid {process.pid})")
        return self.status()

    def stop(self, echo=log.info, timeout_s: float = 30) -> bool:
        return stop_recorded(self.pid(), self.pid_file, "Kafka", echo, timeout_s)

    # ---- helpers -----------------------------------------------------------
    def _write_properties(self) -> None:
        """The broker's settings, rewritten at each start: the ports may have changed."""
        self.properties.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={LOOPBACK}:{self.controller_port}",
            f"listeners=PLAINTEXT://{self.bootstrap},CONTROLLER://{LOOPBACK}:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://{self.bootstrap}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.root / 'data'}",
            f"num.partitions={self.partitions}",
            "auto.create.topics.enable=true",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            *self.extra_properties,
            "",
        ]))

    def _wait_for_port(self, pid: int, process: subprocess.Popen | None = None) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise ServiceError(f"Kafka exited with {process.returncode} while starting:\n"
                                   + self.log_file.read_text(errors="replace")[-3000:])
            if port_open(LOOPBACK, self.port):
                return
            time.sleep(0.3)
        raise ServiceError(f"Kafka (pid {pid}) did not listen on {self.port} within "
                           f"{START_TIMEOUT_S}s; see {self.log_file}")


def _cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes in URL-safe base64, unpadded.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
