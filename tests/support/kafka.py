"""A throw-away single-node Kafka (KRaft: controller and broker in one JVM)
from the jars of conf/jvm/kafka-broker, for the tests of the Kafka source.

Loopback listeners on free ports, data in a temporary folder; the process is
ended in `finally`, exactly the one started here.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spark_app.common import jars
from spark_app.common.config import Config
from spark_app.services.process import free_port, java

STORAGE_TOOL = "kafka.tools.StorageTool"
BROKER_MAIN = "kafka.Kafka"
CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
START_TIMEOUT_S = 90


@dataclass(frozen=True)
class KafkaBroker:
    bootstrap: str
    classpath: str

    def produce(self, topic: str, lines: list[str], key_separator: str | None = None) -> None:
        """Send each line as one record, with the broker's own console producer."""
        command = [java(), "-cp", self.classpath, CONSOLE_PRODUCER,
                   "--bootstrap-server", self.bootstrap, "--topic", topic]
        if key_separator:
            command += ["--property", "parse.key=true",
                        "--property", f"key.separator={key_separator}"]
        subprocess.run(command, input="\n".join(lines) + "\n", text=True, check=True,
                       capture_output=True, timeout=120)


@contextmanager
def kafka_broker(config: Config, work_dir: Path, partitions: int = 2):
    jar_dir = jars.ensure_bundle(config, "kafka-broker")
    classpath = f"{jar_dir}/*"
    broker_port, controller_port = free_port(), free_port()
    data_dir = work_dir / "kafka-data"
    properties = work_dir / "server.properties"
    properties.write_text("\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{broker_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={data_dir}",
        f"num.partitions={partitions}",
        "auto.create.topics.enable=true",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "",
    ]))
    java_command = [java(), "-Xmx512m", "-cp", classpath]
    subprocess.run([*java_command, STORAGE_TOOL, "format", "-t", _cluster_id(), "-c", str(properties),
                    "--standalone"], check=True, capture_output=True, text=True, timeout=120)
    log = work_dir / "kafka.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([*java_command, BROKER_MAIN, str(properties)], stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        _wait_for_port(broker_port, process, log)
        yield KafkaBroker(f"127.0.0.1:{broker_port}", classpath)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cluster_id() -> str:
    # Kafka cluster ids are 16 random bytes in URL-safe base64, unpadded.
    import base64
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Kafka exited with {process.returncode}:\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"Kafka did not listen on {port} within {START_TIMEOUT_S}s")


