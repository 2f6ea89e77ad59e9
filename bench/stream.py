"""Benchmark: the temperature stream's throughput and breach-to-e-mail latency,
on the local Cassandra, a loopback SMTP sink and Spark local[2].

    python -m bench.stream [--seconds 600] [--equipment 500] [--seed 7] [--breaches 8]

- readings_s: `equipment` engines reporting once a second for `seconds` of event
  time are written as files of one minute each, then one available-now run
  processes them all; readings divided by the windows query's processing time
  (its progress' triggerExecution), while the rejects query reads the same files.
- p95_latency_s: a continuously running stream (processingTime trigger =
  stream.trigger) fed one file a second of normal readings for the same fleet;
  now and then an equipment breaches (a file of hot readings); latency = that
  file's arrival (rename into the folder) to its alert stored by the SMTP sink.
  The goal is p95 <= trigger + 5 s.

Uses keyspace fleetwatch_bench unless FLEETWATCH_CASSANDRA_KEYSPACE says otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from spark_app.common.config import load_config
from spark_app.services.process import free_port
from spark_app.services.smtp_sink import MailSink, read_message, stored_files
from spark_app.sim import temperatures as simulator

BREACH_EVERY_S = 7.0  # not a multiple of the trigger: breaches land at every phase of it
BREACH_TIMEOUT_S = 60.0


def run(seconds: int = 600, equipment: int = 500, seed: int = 7, breaches: int = 8) -> dict:
    os.environ.setdefault("FLEETWATCH_CASSANDRA_KEYSPACE", "fleetwatch_bench")
    with tempfile.TemporaryDirectory(prefix="fleetwatch-bench-") as work:
        work = Path(work)
        sink = MailSink(work / "mail", port=free_port()).start()
        try:
            config = _config(work, sink.port)
            spark = _session(config)
            try:
                result = _throughput(spark, config, work, seconds, equipment, seed)
                result.update(_latency(spark, _config(work, sink.port, "latency"), sink,
                                       equipment, seed, breaches))
            finally:
                spark.stop()
        finally:
            sink.stop()
    return result


def _config(work: Path, smtp_port: int, name: str = "throughput"):
    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.relational import create_tables, engine_from_config

    config = load_config(environ={
        **os.environ,
        "FLEETWATCH_STREAM_SOURCE": "files",
        "FLEETWATCH_STREAM_SOURCE_DIR": str(work / name / "readings"),
        "FLEETWATCH_STREAM_CHECKPOINT_DIR": str(work / name / "checkpoints"),
        "FLEETWATCH_SMTP_HOST": "127.0.0.1",
        "FLEETWATCH_SMTP_PORT": str(smtp_port),
        "FLEETWATCH_DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
        "FLEETWATCH_SPARK_MASTER": "local[2]",
        "FLEETWATCH_SPARK_UI_ENABLED": "false",
    })
    with cassandra_session(config) as session:
        apply_schema(config, session)
        for table in ("temperature_alerts", "mail_outbox", "mail_pending"):
            session.execute(f"TRUNCATE {config.get('cassandra', 'keyspace')}.{table}")
    create_tables(engine_from_config(config))
    return config


def _session(config):
    from spark_app.common.spark_session import build_spark_session

    return build_spark_session(config, app_name="fleetwatch-bench-stream")


def _throughput(spark, config, work: Path, seconds: int, equipment: int, seed: int) -> dict:
    from spark_app.stream import main as stream_main

    # A first run on its own folders: JIT, code generation and the connector's
    # sessions are paid for there, not in the figure.
    warm_up = _config(work, config.get("smtp", "port"), "warm-up")
    simulator.write_files(simulator.Fleet(50, 1.0, frozenset(), seed),
                          warm_up.path("stream", "source_dir"),
                          datetime.now(UTC) - timedelta(minutes=5), 120, file_seconds=60)
    stream_main.run(warm_up, available_now=True, spark=spark)

    fleet = simulator.Fleet(equipment, 1.0, frozenset({"EQ-0001"}), seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=seconds)
    files = simulator.write_files(fleet, config.path("stream", "source_dir"), start, seconds,
                                  file_seconds=60)
    began = time.monotonic()
    report = stream_main.run(config, available_now=True, spark=spark)
    wall_s = time.monotonic() - began
    windows = report.metrics["temperature_windows"]
    readings = windows["input_rows"]
    return {
        "readings": readings,
        "files": len(files),
        "readings_s": round(readings / (windows["duration_ms"] / 1000), 1),
        "readings_s_wall": round(readings / wall_s, 1),
        "batches": windows["batches"],
    }


def _latency(spark, config, sink: MailSink, equipment: int, seed: int, breaches: int) -> dict:
    from spark_app.stream.settings import StreamSettings

    readings_dir = config.path("stream", "source_dir")
    stop = threading.Event()
    feeding = threading.Thread(target=_feed_normal_readings,
                               args=(readings_dir, equipment, seed, stop), daemon=True)
    feeding.start()
    stream = _start_stream(spark, config, StreamSettings.from_config(config), stop)
    try:
        time.sleep(15)  # let the query start and settle into its trigger
        latencies = [_one_breach(readings_dir, sink, f"BREACH-{n:02d}")
                     for n in range(breaches)]
    finally:
        stop.set()
        stream.join(timeout=120)
        feeding.join(timeout=10)
    return {
        "trigger": config.get("stream", "trigger"),
        "latencies_s": [round(value, 2) for value in latencies],
        "p50_latency_s": round(float(np.percentile(latencies, 50)), 2),
        "p95_latency_s": round(float(np.percentile(latencies, 95)), 2),
    }


def _start_stream(spark, config, settings, stop: threading.Event) -> threading.Thread:
    from spark_app.common.cassandra_session import cluster_from_config
    from spark_app.common.relational import engine_from_config
    from spark_app.stream.job import TemperatureStream

    def running():
        cluster = cluster_from_config(config)
        try:
            session = cluster.connect(config.get("cassandra", "keyspace"))
            TemperatureStream(spark, config, settings, session,
                              engine_from_config(config)).run(available_now=False, stop=stop)
        finally:
            cluster.shutdown()

    thread = threading.Thread(target=running, name="stream", daemon=True)
    thread.start()
    return thread


def _feed_normal_readings(directory: Path, equipment: int, seed: int,
                          stop: threading.Event) -> None:
    """One file a second: the last second's readings of the whole fleet."""
    fleet = simulator.Fleet(equipment, 1.0, frozenset(), seed)
    start = datetime.now(UTC).replace(microsecond=0)
    while not stop.is_set():
        simulator.write_files(fleet, directory, start, 1.0, file_seconds=1.0,
                              wait_until=simulator.wait_for_wall_clock)
        start += timedelta(seconds=1)


def _one_breach(directory: Path, sink: MailSink, equipment_id: str) -> float:
    """Writes 30 s of ~150 °C readings of a new equipment; returns the seconds
    from the file's arrival to the alert's arrival at the SMTP sink."""
    time.sleep(BREACH_EVERY_S)
    now = datetime.now(UTC)
    readings = [simulator.Reading(equipment_id, now - timedelta(seconds=30 - s), 150.0, "EX200")
                for s in range(30)]
    arrived = time.time()
    simulator.write_file(directory, f"breach-{equipment_id}.jsonl", readings)
    deadline = time.monotonic() + BREACH_TIMEOUT_S
    while time.monotonic() < deadline:
        for path in stored_files(sink.directory):
            if read_message(path)["X-Fleetwatch-Equipment"] == equipment_id:
                return int(path.name.split("-", 1)[0]) / 1e9 - arrived
        time.sleep(0.05)
    raise RuntimeError(f"no alert for {equipment_id} within {BREACH_TIMEOUT_S}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--equipment", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--breaches", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(run(args.seconds, args.equipment, args.seed, args.breaches), indent=2))


if __name__ == "__main__":
    main()
