"""Backtest (issue 18): `fleetwatch rules backtest` over 30 received days of a
P2-sized history against the fastest whole process that only reads those
days' faults of the rule's model.

    python -m bench --only backtest
    python -m bench.backtest run [--faults 10000000] [--days 30] [--seed 7] [--pairs 3]

The history is PD's realistic fleet (`bench.realistic.fleet_day`: 4 models,
chatty codes and a long Zipf tail, bursts, late arrivals), one day per
received day with its own seed, the same fleet every day; `--faults` is the
total over all days (P2's 10M at full scale; a larger run is one `--faults`
away: loading is most of the run, 10M took 12 minutes on the shared 2-core
machine). The rule
is a realistic one of model EXC: its chattiest code, then a tail code within
an hour, tti one day.

The floor is the fastest of two ways to read the days' faults of that model
into Spark's "noop" sink, each a whole process that starts Spark with the
connector: the whole partition key of every day in one IN list, and one read
per day unioned (one task each). Pairs (floor, backtest) alternate `pairs`
times. Stage figures come from each process's Spark event log.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from bench.realistic import (
    BENCH_KEYSPACE,
    DAY,
    DAY_MS,
    MODELS,
    DayShape,
    Log,
    codes,
    fleet_day,
)

MODEL = MODELS[0]
TAIL_RANK = 1_000  # of the model's 3,000 codes, most frequent first
READS = ("one-in", "per-day")


def history_days(days: int) -> list[date]:
    """The received days, the last one being PD's day."""
    return [DAY - timedelta(days=days - 1 - n) for n in range(days)]


def rule_expression(shape: DayShape) -> str:
    tags = codes(shape)[MODELS.index(MODEL)]
    return f"{tags[0]} E:1h {tags[TAIL_RANK]} tti:1d"


def _environment(events: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "FLEETWATCH_CASSANDRA_KEYSPACE": BENCH_KEYSPACE}
    if events is not None:
        env["FLEETWATCH_SPARK_EVENT_LOG_DIR"] = str(events)
    return env


def load(faults: int, days: int, seed: int) -> None:
    """The history into the bench keyspace's faults, day after day, through the connector."""
    import pandas as pd
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import CASSANDRA_FORMAT
    from spark_app.common.config import load_config
    from spark_app.common.settings import CassandraSettings
    from spark_app.common.spark_session import build_spark_session

    config = load_config()
    cassandra = config.settings(CassandraSettings)
    shape = DayShape(faults=faults // days)
    spark = build_spark_session(config, app_name="fleetwatch-bench-backtest-load")
    try:
        for n, day in enumerate(history_days(days)):
            part = fleet_day(shape, seed + n)
            shift = (day - DAY).days * DAY_MS  # fleet_day's faults are received on DAY
            part["ts"] = pd.to_datetime(part["ts"] + shift, unit="ms")
            part["received_at"] = pd.to_datetime(part["received_at"] + shift, unit="ms")
            (spark.createDataFrame(part)
             .withColumn("day", F.lit(day))
             .withColumn("shard", (F.crc32(F.col("serial_number").cast("binary"))
                                   % cassandra.shards).cast("int"))
             .write.format(CASSANDRA_FORMAT).options(keyspace=cassandra.keyspace, table="faults")
             .mode("append").save())
    finally:
        spark.stop()


def scan(how: str, days: int) -> int:
    """One way of reading the days' faults of MODEL into the noop sink; returns the rows."""
    from functools import reduce

    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import faults_received
    from spark_app.common.config import load_config
    from spark_app.common.spark_session import build_spark_session

    config = load_config()
    spark = build_spark_session(config, app_name=f"fleetwatch-bench-backtest-scan-{how}")
    try:
        received = history_days(days)
        if how == "one-in":
            frame = faults_received(spark, config, received).where(F.col("model") == MODEL)
        else:
            frame = reduce(lambda left, right: left.unionAll(right),
                           [faults_received(spark, config, [day]).where(F.col("model") == MODEL)
                            for day in received])
        seen = Observation("scanned")
        (frame.observe(seen, F.count(F.lit(1)).alias("rows"))
         .write.format("noop").mode("overwrite").save())
        return int(seen.get["rows"])
    finally:
        spark.stop()


def event_log_figures(events: Path) -> dict:
    """Jobs, and each completed stage's name, tasks and seconds, from the one
    Spark event log in `events`."""
    logs = [path for path in events.iterdir() if path.is_file()]
    if len(logs) != 1:
        raise RuntimeError(f"expected one event log in {events}, found {len(logs)}")
    jobs, stages = 0, []
    with logs[0].open() as lines:
        for line in lines:
            event = json.loads(line)
            if event["Event"] == "SparkListenerJobStart":
                jobs += 1
            elif event["Event"] == "SparkListenerStageCompleted":
                info = event["Stage Info"]
                if "Completion Time" in info and "Submission Time" in info:
                    stages.append({"stage_id": info["Stage ID"], "name": info["Stage Name"],
                                   "tasks": info["Number of Tasks"],
                                   "duration_s": (info["Completion Time"]
                                                  - info["Submission Time"]) / 1000})
    return {"jobs": jobs, "stages": stages}


def dominant(figures: dict) -> str:
    """What takes the time: the stages grouped by name (one name per call site)."""
    by_name: dict[str, list[dict]] = {}
    for stage in figures["stages"]:
        by_name.setdefault(stage["name"], []).append(stage)
    if not by_name:
        return f"{figures['jobs']} Spark jobs, no stage completed"
    total = sum(stage["duration_s"] for stage in figures["stages"])
    parts = sorted(by_name.items(), key=lambda item: -sum(s["duration_s"] for s in item[1]))
    described = [f"\"{name}\" ×{len(group)}: {sum(s['duration_s'] for s in group):.1f}s "
                 f"({sum(s['tasks'] for s in group)} tasks)" for name, group in parts[:3]]
    return (f"{figures['jobs']} Spark jobs, {len(figures['stages'])} stages summing "
            f"{total:.1f}s; " + "; ".join(described))


def _timed_scan(command: list[str]) -> tuple[float, int]:
    """A floor process, timed; the rows it read."""
    began = time.monotonic()
    done = subprocess.run(command, env=_environment(), capture_output=True, text=True)
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    return wall, int(done.stdout.split()[-1])


def _backtest_process(expression: str, days: int, events: Path,
                      output: Path) -> tuple[float, dict]:
    """`fleetwatch rules backtest … --format csv > output`, timed; its cost line and stages."""
    import re

    received = history_days(days)
    command = [str(Path(sys.executable).with_name("fleetwatch")), "rules", "backtest",
               expression, "--model", MODEL, "--from", received[0].isoformat(),
               "--to", received[-1].isoformat(), "--format", "csv"]
    events.mkdir(parents=True)
    began = time.monotonic()
    with output.open("w") as csv:
        done = subprocess.run(command, env=_environment(events), stdout=csv,
                              stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"the backtest failed ({done.returncode}):\n{done.stderr[-3000:]}")
    cost = re.search(r"read (\d+) faults .* in ([\d.]+)s; (\d+) violations", done.stderr)
    if cost is None:
        raise RuntimeError(f"the backtest did not say what it read:\n{done.stderr[-3000:]}")
    with output.open() as csv:
        rows = sum(1 for _ in csv) - 1
    return wall, {"faults_read": int(cost[1]), "reported_s": float(cost[2]),
                       "violations": int(cost[3]), "csv_rows": rows,
                       **event_log_figures(events)}


def run(faults: int = 10_000_000, days: int = 30, seed: int = 7, pairs: int = 3,
        log: Log = print) -> dict:
    import shutil

    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.config import load_config

    shape = DayShape(faults=faults // days)
    workdir = load_config().var_dir / "bench" / "backtest"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config = load_config(environ=_environment())
    with cassandra_session(config) as session:
        apply_schema(config, session)
        session.execute(f"TRUNCATE {BENCH_KEYSPACE}.faults")
    began = time.monotonic()
    subprocess.run([sys.executable, "-m", "bench.backtest", "load", "--faults", str(faults),
                    "--days", str(days), "--seed", str(seed)], check=True, env=_environment())
    loaded_s = time.monotonic() - began
    log(f"  loaded {shape.faults * days:,} faults over {days} days in {loaded_s:.0f}s")

    scan_command = [sys.executable, "-m", "bench.backtest", "scan", "--days", str(days),
                    "--how"]
    reads = {}
    for how in READS:
        reads[how], model_faults = _timed_scan(scan_command + [how])
        log(f"  floor candidate {how}: {reads[how]:.1f}s, {model_faults:,} faults of {MODEL}")
    floor = min(reads, key=reads.get)

    expression = rule_expression(shape)
    scans, backtests, figures = [], [], {}
    for pair in range(pairs):
        scans.append(_timed_scan(scan_command + [floor])[0])
        wall, figures = _backtest_process(expression, days, workdir / f"events-{pair}",
                                          workdir / f"violations-{pair}.csv")
        backtests.append(wall)
        log(f"  pair {pair + 1}: floor {scans[-1]:.1f}s, backtest {wall:.1f}s, "
            f"{figures['faults_read']:,} faults read, "
            f"{figures['violations']:,} violations, {figures['jobs']} jobs")
    if figures["csv_rows"] != figures["violations"]:
        raise RuntimeError(f"the CSV has {figures['csv_rows']} rows for "
                           f"{figures['violations']} violations")
    ratios = [job / read for job, read in zip(backtests, scans, strict=True)]
    return {"faults": shape.faults * days, "days": days, "model": MODEL,
            "model_faults": model_faults, "expression": expression, "loaded_s": loaded_s,
            "floor": floor, "reads_s": reads, "scans_s": scans, "backtests_s": backtests,
            "ratio": statistics.median(ratios), "ratios": ratios,
            "faults_read": figures["faults_read"], "violations": figures["violations"],
            "reported_s": figures["reported_s"], "jobs": figures["jobs"],
            "dominant": dominant(figures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "load", "scan"):
        command = commands.add_parser(name)
        command.add_argument("--days", type=int, default=30)
        if name != "scan":
            command.add_argument("--faults", type=int, default=10_000_000)
            command.add_argument("--seed", type=int, default=7)
        if name == "run":
            command.add_argument("--pairs", type=int, default=3)
        if name == "scan":
            command.add_argument("--how", choices=READS, required=True)
    args = parser.parse_args()
    if args.command == "scan":
        print(scan(args.how, args.days))
    elif args.command == "load":
        load(args.faults, args.days, args.seed)
    else:
        print(run(args.faults, args.days, args.seed, args.pairs))


if __name__ == "__main__":
    main()
