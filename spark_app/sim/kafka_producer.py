"""Simulated readings sent to Kafka (`fleetwatch simulate temperatures --kafka`) with
librdkafka (confluent-kafka): one JSON record per reading, keyed by equipment, so
one engine's readings stay in order on one partition. Idempotent producer: a
retried send is never stored twice."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime

from spark_app.common.cli_args import EXIT_FAILURE, EXIT_OK
from spark_app.common.config import Config
from spark_app.common.kafka import KafkaSettings, KafkaTopic

# How long a reading may wait for the broker's acknowledgement before the run fails.
DELIVERY_TIMEOUT_S = 30


def send_readings(config: Config, chunks: Iterable[tuple[datetime, list]]) -> int:
    """Sends each chunk of readings and waits for all of it to be acknowledged
    before the next (with --live, each chunk is given as its time passes)."""
    from confluent_kafka import KafkaException, Producer

    where = config.settings(KafkaTopic)
    bootstrap, topic = where.kafka_bootstrap, where.kafka_topic
    failures: list[str] = []

    def delivered(error, _message) -> None:
        if error is not None:
            failures.append(str(error))

    try:
        producer = Producer({**config.settings(KafkaSettings).producer_config(bootstrap),
                             "enable.idempotence": True, "log_level": 3,  # errors, not retries
                             "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000})
    except KafkaException as error:
        print(f"fleetwatch: cannot make a Kafka producer: {error}", file=sys.stderr)
        return EXIT_FAILURE
    sent = 0
    for _, chunk in chunks:
        for reading in chunk:
            while True:
                try:
                    producer.produce(topic, key=reading.equipment_id.encode(),
                                     value=reading.json_line().encode(), on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(1)
        unsent = producer.flush(DELIVERY_TIMEOUT_S + 5)
        if failures or unsent:
            reason = failures[0] if failures else f"{unsent} reading(s) still unacknowledged"
            print(f"fleetwatch: Kafka at {bootstrap} did not take the readings ({reason}); "
                  "is it running? `fleetwatch services start --kafka` starts a local one",
                  file=sys.stderr)
            return EXIT_FAILURE
        sent += len(chunk)
    print(f"sent {sent} readings to topic {topic} at {bootstrap}")
    return EXIT_OK
