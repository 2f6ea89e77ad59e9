"""A throw-away single-node Kafka for the tests of the Kafka source: the same
LocalKafka as `fleetwatch services start --kafka`, on free loopback ports with
data in a temporary folder, ended in `finally`; records are sent with the
broker's own console producer, not with fleetwatch's code."""

from __future__ import annotations

import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spark_app.common.config import Config
from spark_app.services.kafka import LocalKafka
from spark_app.services.process import free_port, java

CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"


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

    def consume(self, topic: str, count: int, *client_options: str) -> list[str]:
        """The first `count` records of `topic` as "key<TAB>value" lines, read by the
        broker's own console consumer (`client_options`: --consumer.config FILE, say)."""
        result = subprocess.run(
            [java(), "-cp", self.classpath, CONSOLE_CONSUMER, "--bootstrap-server",
             self.bootstrap, "--topic", topic, "--from-beginning", "--max-messages", str(count),
             "--timeout-ms", "60000", "--property", "print.key=true", *client_options],
            capture_output=True, text=True, timeout=180)
        return result.stdout.splitlines()


@contextmanager
def kafka_broker(config: Config, work_dir: Path, partitions: int = 2,
                 ports: tuple[int, int] | None = None, extra_properties: tuple[str, ...] = ()):
    """ports: (broker, controller), free ones by default; extra_properties win over
    LocalKafka's own (other listeners, say)."""
    broker_port, controller_port = ports or (free_port(), free_port())
    broker = LocalKafka(config, root=work_dir, broker_port=broker_port,
                        controller_port=controller_port, partitions=partitions,
                        extra_properties=extra_properties)
    try:
        broker.start(echo=lambda *_: None)
        yield KafkaBroker(broker.bootstrap, broker.classpath())
    finally:
        broker.stop(echo=lambda *_: None)
