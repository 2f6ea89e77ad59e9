"""Benchmark: `fleetwatch ingest` of a JSON-lines file against a bare
cassandra-driver loop inserting the same rows.

    python -m bench.ingest [--rows 200000] [--seed 7] [--repeat 2]

Both write into the scratch keyspace `fleetwatch_bench` of the configured
Cassandra (emptied before each timed run) with the same prepared INSERT and
the same concurrency (ingest.concurrency). Two bare loops get their rows
already built in memory: one request per row, and the rows as unlogged
batches of one partition each, bound by the driver before the clock starts
(what ingest sends: the floor its goal is measured against). Ingest reads,
parses and validates the file, builds its batches, counts days and writes in
chunks. Each is timed `--repeat` times, alternating, and
the best run of each is kept (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_KEYSPACE = "fleetwatch_bench"


def run(rows: int, seed: int, repeat: int = 2) -> dict:
    from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args

    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.config import load_config
    from spark_app.ingest.faults import FaultWriter
    from spark_app.ingest.jsonl import read_lines
    from spark_app.ingest.records import json_line_row
    from spark_app.ingest.run import ingest
    from spark_app.ingest.settings import IngestSettings
    from spark_app.sim.faults import FleetSpec, simulate_faults, write_jsonl

    config = load_config(environ={**os.environ, "FLEETWATCH_CASSANDRA_KEYSPACE": BENCH_KEYSPACE})
    settings = IngestSettings.from_config(config)
    days = 4
    faults = simulate_faults(FleetSpec(serials=20_000, models=10, days=days,
                                       faults_per_day=-(-rows // days)), seed)
    with tempfile.TemporaryDirectory(prefix="fleetwatch-bench-") as folder, \
            cassandra_session(config) as session:
        apply_schema(config, session)
        session.set_keyspace(BENCH_KEYSPACE)
        path = Path(folder) / "faults.jsonl"
        write_jsonl(faults, path, malformed_fraction=0.0, seed=seed)
        now = datetime.now(UTC)
        with open(path, "rb") as handle:  # the very rows ingest will write
            parameters = [json_line_row(line, now, settings.rules)
                          for _, line in read_lines(handle, settings.rules.max_record_bytes)]
        writer = FaultWriter(session, BENCH_KEYSPACE, settings.batch_rows)
        batches = [(batch, None) for batch in writer.batches(parameters)]

        def driver_loop() -> float:
            began = time.perf_counter()
            execute_concurrent_with_args(session, writer.insert, parameters,
                                         concurrency=settings.concurrency)
            return time.perf_counter() - began

        def driver_batches() -> float:
            began = time.perf_counter()
            execute_concurrent(session, batches, concurrency=settings.concurrency)
            return time.perf_counter() - began

        def ingest_file() -> float:
            began = time.perf_counter()
            summary = ingest(config, [str(path)], progress_stream=open(os.devnull, "w"))
            elapsed = time.perf_counter() - began
            assert summary.faults == len(parameters) and not summary.failed, summary.text()
            return elapsed

        best = {"driver": float("inf"), "driver_batched": float("inf"), "ingest": float("inf")}
        for _ in range(repeat):
            for name, timed in (("driver", driver_loop), ("driver_batched", driver_batches),
                                ("ingest", ingest_file)):
                session.execute("TRUNCATE faults", timeout=120)
                best[name] = min(best[name], timed())
    figures = {"rows": len(parameters),
               "driver_rows_s": len(parameters) / best["driver"],
               "driver_batched_rows_s": len(parameters) / best["driver_batched"],
               "ingest_rows_s": len(parameters) / best["ingest"]}
    figures["ratio"] = figures["ingest_rows_s"] / figures["driver_rows_s"]
    figures["batched_ratio"] = figures["ingest_rows_s"] / figures["driver_batched_rows_s"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    figures = run(args.rows, args.seed, args.repeat)
    print(f"rows: {figures['rows']:,}")
    print(f"bare driver loop: {figures['driver_rows_s']:,.0f} rows/s")
    print(f"bare driver, batches: {figures['driver_batched_rows_s']:,.0f} rows/s")
    print(f"fleetwatch ingest: {figures['ingest_rows_s']:,.0f} rows/s")
    print(f"ingest / driver: {figures['ratio']:.2f}")
    print(f"ingest / batched driver: {figures['batched_ratio']:.2f}")


if __name__ == "__main__":
    main()
