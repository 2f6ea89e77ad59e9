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

        def driver_loop() -> dict:
            execute_concurrent_with_args(session, writer.insert, parameters,
                                         concurrency=settings.concurrency)
            return {}

        def driver_batches() -> dict:
            execute_concurrent(session, batches, concurrency=settings.concurrency)
            return {}

        def ingest_file() -> dict:
            summary = ingest(config, [str(path)], progress_stream=open(os.devnull, "w"))
            assert summary.faults == len(parameters) and not summary.failed, summary.text()
            return summary.part_seconds

        best = {name: {"seconds": float("inf")} for name in ("driver", "driver_batched", "ingest")}
        for _ in range(repeat):
            for name, timed in (("driver", driver_loop), ("driver_batched", driver_batches),
                                ("ingest", ingest_file)):
                session.execute("TRUNCATE faults", timeout=120)
                run = _measured(timed)
                if run["seconds"] < best[name]["seconds"]:
                    best[name] = run
    rows_s = {name: len(parameters) / run["seconds"] for name, run in best.items()}
    figures = {"rows": len(parameters),
               "driver_rows_s": rows_s["driver"],
               "driver_batched_rows_s": rows_s["driver_batched"],
               "ingest_rows_s": rows_s["ingest"],
               "ingest_parts_s": best["ingest"]["parts"],
               "cpu_s": {name: {"process": run["process_cpu_s"], "machine": run["machine_cpu_s"]}
                         for name, run in best.items()}}
    figures["ratio"] = figures["ingest_rows_s"] / figures["driver_rows_s"]
    figures["batched_ratio"] = figures["ingest_rows_s"] / figures["driver_batched_rows_s"]
    figures["dominant"] = what_dominates(best["ingest"], best["driver_batched"])
    return figures


def _measured(timed) -> dict:
    """Wall seconds, this process's CPU seconds and the machine's (Cassandra
    included) of one timed run, with what it returned as `parts`."""
    from bench.realistic import busy_cpu_seconds

    machine, process, began = busy_cpu_seconds(), time.process_time(), time.perf_counter()
    parts = timed()
    return {"seconds": time.perf_counter() - began, "parts": parts,
            "process_cpu_s": time.process_time() - process,
            "machine_cpu_s": busy_cpu_seconds() - machine}


def what_dominates(ingest: dict, floor: dict) -> str:
    """Where ingest's time went (the main thread validating or waiting for
    Cassandra, the writers building batches) and the CPU it cost beside the
    floor's."""
    parts = ingest["parts"]
    return (f"of ingest's {ingest['seconds']:.1f} s, the main thread read and validated for "
            f"{parts['validate']:.1f} s and waited for Cassandra's acknowledgements for "
            f"{parts['wait']:.1f} s; the writer threads built batches for "
            f"{parts['serialise']:.1f} s. CPU-seconds: this process {ingest['process_cpu_s']:.1f} "
            f"against the batched floor's {floor['process_cpu_s']:.1f}, the machine "
            f"(Cassandra included) {ingest['machine_cpu_s']:.1f} against "
            f"{floor['machine_cpu_s']:.1f} ({floor['seconds']:.1f} s)")


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
