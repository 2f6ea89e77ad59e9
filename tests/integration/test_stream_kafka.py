"""The temperature stream reading a real Kafka topic (a single-node KRaft broker
from Maven Central jars), through the real command line: alert e-mail with its
content, a restart from the checkpoint that recovers once, malformed readings
kept aside, late readings counted."""

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.kafka import kafka_broker
from tests.support.stream import (
    STREAM_TABLES,
    body_value,
    degrees,
    emails_about,
    new_sink,
    reading_lines,
    stream_config,
    stream_environment,
    unique_id,
)

pytestmark = pytest.mark.slow

MALFORMED = {
    "{not json": "not a JSON object",
    '{"equipment_id": "", "ts": "2024-05-01T10:05:00Z", "temperature_c": 70}':
        "missing equipment_id",
}


@pytest.fixture(scope="module")
def broker(config, tmp_path_factory):
    with kafka_broker(config, tmp_path_factory.mktemp("kafka")) as running:
        yield running


def run_stream_cli(environment) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-m", "spark_app.cli", "stream", "--source", "kafka", "--available-now"],
        env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    numbers = re.search(r"readings: (\d+) accepted, (\d+) rejected .*, (\d+) window rows dropped",
                        result.stdout)
    assert numbers, result.stdout
    return dict(zip(("accepted", "rejected", "late"), map(int, numbers.groups()), strict=True))


def test_kafka_source_alerts_recovers_once_and_keeps_bad_readings(broker, cassandra, tmp_path):
    for table in STREAM_TABLES:
        cassandra.execute(f"TRUNCATE {table}")
    hot, topic = unique_id("KHOT"), unique_id("readings")
    with new_sink(tmp_path) as sink:
        stream_config(tmp_path, sink.port)  # creates the relational tables
        environment = stream_environment(
            tmp_path, sink.port, FLEETWATCH_STREAM_KAFKA_BOOTSTRAP=broker.bootstrap,
            FLEETWATCH_STREAM_KAFKA_TOPIC=topic, FLEETWATCH_SPARK_UI_ENABLED="false")

        # 10:00-10:20 hot (one reading as CSV), and two malformed records
        hot_lines = reading_lines(hot, "EX200", 0, 20, 150.0)
        broker.produce(topic, hot_lines + [f"{hot},2024-05-01T10:20:00Z,151.0,EX200"]
                       + list(MALFORMED))
        first = run_stream_cli(environment)
        assert first == {"accepted": len(hot_lines) + 1, "rejected": len(MALFORMED), "late": 0}
        alerts = emails_about(sink, hot)
        assert [m["X-Fleetwatch-Kind"] for m in alerts] == ["alert"]
        assert body_value(alerts[0], "Model") == "EX200"
        assert degrees(body_value(alerts[0], "Average")) > 110.0
        assert degrees(body_value(alerts[0], "Threshold")) == 110.0

        today = datetime.now(UTC).date()  # the records' Kafka timestamps
        kept = cassandra.execute(
            cassandra.prepare("SELECT source, record_key, reason, payload FROM rejected_readings "
                              "WHERE day IN ?"), ([today - timedelta(days=1), today],))
        mine = {row.payload: row for row in kept if row.source.startswith(topic + "/")}
        assert {payload: row.reason for payload, row in mine.items()} == MALFORMED
        assert all(re.fullmatch(r"\d+:0", row.record_key) for row in mine.values())

        # a restart from the checkpoint: cooler readings and some far too late
        # (09:30-09:40, very hot): one recovery, the late ones only counted
        cool_lines = reading_lines(hot, "EX200", 20, 40, 50.0)
        late_lines = reading_lines(hot, "EX200", -30, -20, 300.0)
        broker.produce(topic, cool_lines + late_lines)
        second = run_stream_cli(environment)
        assert second["accepted"] == len(cool_lines) + len(late_lines)
        assert second["late"] > 0
        assert [m["X-Fleetwatch-Kind"] for m in emails_about(sink, hot)] == ["alert", "recovery"]
