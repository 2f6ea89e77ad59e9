"""Benchmark: the temperature stream at a steady arrival rate, on the local
Cassandra, a loopback SMTP sink and Spark local[2].

    python -m bench.stream [--seconds 300] [--rate 50000] [--equipment 500] [--seed 7]
                           [--breaches 8]

A feeder process (its own interpreter: its work never competes with the
driver's GIL) writes, every wall-clock second, one JSON-lines file of the
readings of that second: `equipment` engines reporting `rate / equipment`
times a second each, stamped in that second, renamed into the source folder
once it has passed. The stream runs as in production (processingTime trigger
= stream.trigger, both queries); every few seconds a new equipment breaches (a
file of hot readings).

- readings_s: readings the windows query processed / wall time from the first
  file's arrival to the end of the batch that processed the last one. Equal to
  the arrival rate (a little under: the last trigger) when the stream keeps up;
  lower when it falls behind.
- kept_up_share: the share of the windows query's batches that carried at
  least a second of the feed whose processing time (triggerExecution) was at
  most the trigger; the rejects query's share too (it reads the same files).
  A warm-up run of WARM_UP_S seconds at the same rate comes first.
- p95_latency_s: a breach file's arrival (its rename) to its alert stored by
  the SMTP sink, under that load, with no hold time; the breaches are spread
  over the feed.
- stages_s: where the windows query's time went, summed over the run: Spark's
  durationMs (addBatch is the foreachBatch call) and, inside it, the stream's
  own stages (StreamReport.stage_s); dominant_stage is the largest.

Uses keyspace fleetwatch_bench unless FLEETWATCH_CASSANDRA_KEYSPACE says otherwise.
"""
from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from spark_app.common.config import load_config
from spark_app.services.process import free_port
from spark_app.services.smtp_sink import MailSink, read_message, stored_files
from spark_app.sim import temperatures as simulator

BREACH_EVERY_S = 7.0  # at least this far apart
BREACH_TIMEOUT_S = 60.0
SETTLE_S = 10.0  # the query's start, before the first file arrives
WARM_UP_S = 20  # seconds of readings at the run's rate
# Spark's own phases of a micro-batch (durationMs); addBatch is the foreachBatch call.
SPARK_PHASES = ("latestOffset", "getBatch", "queryPlanning", "walCommit", "addBatch",
                "commitOffsets")


def run(seconds: int = 300, rate: int = 50_000, equipment: int = 500, seed: int = 7,
        breaches: int = 8) -> dict:
    os.environ.setdefault("FLEETWATCH_CASSANDRA_KEYSPACE", "fleetwatch_bench")
    with tempfile.TemporaryDirectory(prefix="fleetwatch-bench-") as work:
        work = Path(work)
        sink = MailSink(work / "mail", port=free_port()).start()
        try:
            spark = _session(_config(work, sink.port, "warm-up"))
            try:
                _warm_up(spark, _config(work, sink.port, "warm-up"), rate, equipment)
                return _sustained(spark, _config(work, sink.port, "sustained"), sink,
                                  seconds, rate, equipment, seed, breaches)
            finally:
                spark.stop()
        finally:
            sink.stop()


def _config(work: Path, smtp_port: int, name: str):
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
        "FLEETWATCH_STREAM_ALERT_FOR": "0 minutes",
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


def _warm_up(spark, config, rate: int, equipment: int) -> None:
    """JIT (at the volume of the run: a few thousand readings leave the hot loops
    interpreted), code generation, the Python workers and the connector's sessions
    are paid for here, not in the figures: a stream runs for days. Every path of a
    measured batch is taken: a breach (its alert composed, queued, mailed, its
    episode recorded) and a rejected line (its reason stored), or the first
    measured batch with a breach pays for their imports and first connections."""
    from spark_app.stream import main as stream_main

    directory = config.path("stream", "source_dir")
    directory.mkdir(parents=True, exist_ok=True)
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    for second, body in itertools.islice(seconds_of_readings(first, rate, equipment, 1),
                                         WARM_UP_S):
        _write_second(directory, second, body)
    simulator.write_file(directory, "breach-WARM-UP.jsonl", [
        simulator.Reading("WARM-UP", first + timedelta(seconds=s), 150.0, "EX200")
        for s in range(WARM_UP_S)])
    (directory / "rejected-WARM-UP.jsonl").write_text("{not a reading\n")
    stream_main.run(config, available_now=True, spark=spark)


def _sustained(spark, config, sink: MailSink, seconds: int, rate: int, equipment: int,
               seed: int, breaches: int) -> dict:
    from spark_app.stream.job import REJECTS_QUERY, WINDOWS_QUERY
    from spark_app.stream.settings import StreamSettings, duration_seconds

    settings = StreamSettings.from_config(config)
    trigger_ms = duration_seconds(settings.trigger, "trigger") * 1000
    progress = _ProgressLog()
    spark.streams.addListener(progress)
    stop_stream = threading.Event()
    reports: list = []
    stream = _start_stream(spark, config, settings, stop_stream, reports)
    try:
        time.sleep(SETTLE_S)
        feeder = multiprocessing.get_context("spawn").Process(
            target=feed, args=(settings.source_dir, seconds, rate, equipment, seed),
            name="bench-feeder", daemon=True)
        feeder.start()
        # spread over the feed, never in step with the trigger
        arrivals: dict[str, float] = {}
        every_s = max(BREACH_EVERY_S, seconds / (breaches + 1)) + 0.7
        _write_breaches(settings.source_dir, min(breaches, int(seconds // every_s) or 1),
                        every_s, arrivals)
        feeder.join(timeout=seconds + 60)
        if feeder.exitcode != 0:
            raise RuntimeError(f"the feeder failed (exit {feeder.exitcode})")
        expected = max(1, rate // equipment) * equipment * seconds
        done = _wait_for_rows(progress, WINDOWS_QUERY, expected + 30 * len(arrivals),
                              timeout_s=max(120.0, seconds))
        latencies = _latencies(sink, arrivals)
    finally:
        stop_stream.set()
        stream.join(timeout=120)
        spark.streams.removeListener(progress)
    # written just before its rename: the feed's first arrival
    first_arrival = min(path.stat().st_mtime for path in settings.source_dir.glob("readings-*"))
    # the batches that carried at least a second of the feed: the tail of breach files
    # alone, after it, keeps up at no load
    loaded = max(1, rate // equipment) * equipment
    windows = [p for p in progress.of(WINDOWS_QUERY) if p["numInputRows"] >= loaded]
    rejects = [p for p in progress.of(REJECTS_QUERY) if p["numInputRows"] >= loaded]
    processed = sum(p["numInputRows"] for p in progress.of(WINDOWS_QUERY))
    durations = [p["durationMs"]["triggerExecution"] for p in windows]
    stages = {phase: round(sum(p["durationMs"].get(phase, 0) for p in windows) / 1000, 2)
              for phase in SPARK_PHASES}
    report = reports[0] if reports else None
    inside = {name: round(value, 2) for name, value in (report.stage_s if report else {}).items()}
    dominant = max({**{k: v for k, v in stages.items() if k != "addBatch"}, **inside}.items(),
                   key=lambda item: item[1])
    return {
        "trigger": settings.trigger,
        "target_rate": rate,
        "equipment": equipment,
        "seconds": seconds,
        "readings": processed,
        "readings_s": round(processed / (done - first_arrival), 1),
        "batches": len(windows),
        "kept_up_share": round(_share_within(durations, trigger_ms), 3),
        "rejects_kept_up_share": round(_share_within(
            [p["durationMs"]["triggerExecution"] for p in rejects], trigger_ms), 3),
        "batch_ms": durations,
        "batch_rows": [p["numInputRows"] for p in windows],
        "batch_ms_p50": int(np.percentile(durations, 50)),
        "batch_ms_max": max(durations),
        "batch_rows_p50": int(np.percentile([p["numInputRows"] for p in windows], 50)),
        "processed_rows_s_p50": round(float(np.percentile(
            [p["processedRowsPerSecond"] for p in windows], 50)), 1),
        "stages_s": stages,
        "batch_stages_s": inside,
        "dominant_stage": f"{dominant[0]}: {dominant[1]:.1f} s of "
                          f"{sum(durations) / 1000:.1f} s of batch time",
        "latencies_s": [round(value, 2) for value in latencies],
        "p50_latency_s": round(float(np.percentile(latencies, 50)), 2),
        "p95_latency_s": round(float(np.percentile(latencies, 95)), 2),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def _share_within(durations_ms: list[int], limit_ms: int) -> float:
    return sum(1 for value in durations_ms if value <= limit_ms) / len(durations_ms)


class _ProgressLog:
    """Every progress of every query, as its JSON document, with the wall time it arrived."""

    def __new__(cls):
        from pyspark.sql.streaming.listener import StreamingQueryListener

        class Listener(StreamingQueryListener):
            def __init__(self):
                self.entries: list[tuple[float, dict]] = []
                self._lock = threading.Lock()

            def onQueryStarted(self, event):  # noqa: N802 - Spark's listener API
                pass

            def onQueryProgress(self, event):  # noqa: N802
                with self._lock:
                    self.entries.append((time.time(), json.loads(event.progress.json)))

            def onQueryIdle(self, event):  # noqa: N802
                pass

            def onQueryTerminated(self, event):  # noqa: N802
                pass

            def of(self, name: str) -> list[dict]:
                with self._lock:
                    return [entry for _, entry in self.entries if entry.get("name") == name]

            def rows_by(self, name: str) -> tuple[int, float]:
                """Rows processed so far, and when the last batch's progress arrived."""
                with self._lock:
                    mine = [(at, entry) for at, entry in self.entries if entry.get("name") == name]
                return (sum(entry["numInputRows"] for _, entry in mine),
                        max((at for at, entry in mine if entry["numInputRows"]), default=0.0))

        return Listener()


def _wait_for_rows(progress, query: str, rows: int, timeout_s: float) -> float:
    """Waits until `query` has processed `rows`; returns when the batch that got there ended."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processed, last_at = progress.rows_by(query)
        if processed >= rows:
            return last_at
        time.sleep(0.2)
    raise RuntimeError(f"{query} processed {progress.rows_by(query)[0]} of {rows} readings "
                       f"within {timeout_s:.0f}s of the feed's end")


def _start_stream(spark, config, settings, stop: threading.Event, reports: list
                  ) -> threading.Thread:
    from spark_app.common.cassandra_session import cluster_from_config
    from spark_app.common.relational import engine_from_config
    from spark_app.stream.job import TemperatureStream

    def running():
        cluster = cluster_from_config(config)
        try:
            session = cluster.connect(config.get("cassandra", "keyspace"))
            reports.append(TemperatureStream(spark, config, settings, session,
                                             engine_from_config(config))
                           .run(available_now=False, stop=stop))
        finally:
            cluster.shutdown()

    thread = threading.Thread(target=running, name="stream", daemon=True)
    thread.start()
    return thread


def feed(directory: Path, seconds: int, rate: int, equipment: int, seed: int) -> None:
    """One file per wall-clock second for `seconds`: that second's `rate` readings,
    renamed into `directory` once the second has passed."""
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    for second, body in itertools.islice(seconds_of_readings(first, rate, equipment, seed),
                                         seconds):
        simulator.wait_for_wall_clock(second + timedelta(seconds=1))
        _write_second(directory, second, body)


def seconds_of_readings(first: datetime, rate: int, equipment: int, seed: int
                        ) -> Iterator[tuple[datetime, str]]:
    """(second, its JSON lines) from `first` on: `equipment` engines reporting
    rate / equipment times each, evenly spread over the second, drifting like the
    simulator's. Formatting is vectorised per second, so the feeder keeps time at
    any rate the stream could sustain."""
    per_equipment = max(1, rate // equipment)
    ids = simulator.equipment_ids(equipment)
    heads = np.array([f'{{"equipment_id": "{eid}", "ts": "' for eid in ids], dtype=object)
    tails = np.array([f', "model": "{simulator.model_of(eid)}"}}\n' for eid in ids], dtype=object)
    # reading k of equipment e lands at (k * equipment + e) / rate of the second
    slots = np.arange(per_equipment)[:, None] * equipment + np.arange(equipment)[None, :]
    millis = np.array([f".{value:03d}Z" for value in range(1000)], dtype=object)[
        slots * 1000 // (per_equipment * equipment)]
    generator = np.random.default_rng(seed)
    temperature = generator.uniform(*simulator.NORMAL_RANGE_C, equipment)
    second = first
    while True:
        steps = generator.uniform(-simulator.STEP_C, simulator.STEP_C, (per_equipment, equipment))
        values = np.clip(temperature + np.cumsum(steps, axis=0), *simulator.NORMAL_RANGE_C)
        temperature = values[-1]
        texts = np.char.mod("%.1f", values).astype(object)
        lines = heads + f"{second:%Y-%m-%dT%H:%M:%S}" + millis + '", "temperature_c": ' \
            + texts + tails
        yield second, "".join(lines.ravel().tolist())
        second += timedelta(seconds=1)


def _write_second(directory: Path, second: datetime, body: str) -> None:
    partial = directory / f".readings-{second:%Y%m%dT%H%M%S}.jsonl.part"
    partial.write_text(body)
    partial.rename(directory / f"readings-{second:%Y%m%dT%H%M%S}.jsonl")


def _write_breaches(directory: Path, count: int, every_s: float, arrivals: dict) -> None:
    """Every `every_s`, 30 s of ~150 °C readings of a new equipment; `arrivals` gets
    each file's arrival (just before its rename)."""
    for number in range(count):
        time.sleep(every_s)
        equipment_id = f"BREACH-{number:02d}"
        now = datetime.now(UTC)
        readings = [simulator.Reading(equipment_id, now - timedelta(seconds=30 - s), 150.0,
                                      "EX200") for s in range(30)]
        arrivals[equipment_id] = time.time()
        simulator.write_file(directory, f"breach-{equipment_id}.jsonl", readings)


def _latencies(sink: MailSink, arrivals: dict) -> list[float]:
    """Seconds from each breach file's arrival to its alert's arrival at the SMTP sink."""
    deadline = time.monotonic() + BREACH_TIMEOUT_S
    while True:
        received = {}
        for path in stored_files(sink.directory):
            equipment_id = read_message(path)["X-Fleetwatch-Equipment"]
            received.setdefault(equipment_id, int(path.name.split("-", 1)[0]) / 1e9)
        missing = sorted(arrivals.keys() - received.keys())
        if not missing:
            return [received[eid] - arrived for eid, arrived in sorted(arrivals.items())]
        if time.monotonic() > deadline:
            raise RuntimeError(f"no alert for {', '.join(missing)} within {BREACH_TIMEOUT_S}s "
                               "of the stream processing its readings")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--rate", type=int, default=50_000)
    parser.add_argument("--equipment", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--breaches", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(run(args.seconds, args.rate, args.equipment, args.seed, args.breaches),
                     indent=2))


if __name__ == "__main__":
    main()
