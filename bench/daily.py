"""The daily job against its floors and the thesis-style pipeline (issue 7's
P1, P2, P3). `python -m bench --only p1,p2,p3` runs them; alone:
`python -m bench.daily p2 --faults 1000000`.

Every section works in the scratch keyspace `fleetwatch_bench` and a fresh
SQLite file under var/bench, with 500 rules of mixed shapes over the
simulator's codes, and one day of simulated faults. The fleet grows with the
load (FAULTS_PER_SERIAL faults per machine and day), as it would: a bigger
day means more machines, not machines that fault ever more often.

- P1, on input cached in Spark: (a) floor: scan + broadcast join with the
  rules + count; (b) the thesis-style pipeline; (c) fleetwatch's daily job
  given the cached day instead of reading Cassandra.
- P2, from Cassandra, the day loaded through the ingest path's writer: a bare
  connector scan of the day (every row read into Spark, into the "noop" sink),
  the fastest of three reads (one partition-key read, shard by shard, a
  token-range scan filtering the day), best of one before and one after the
  others; the daily job, on SQLite and again on a local PostgreSQL (Unix
  socket, as `fleetwatch services start --postgres`); the thesis-style
  pipeline over the same table. Machine-wide CPU-seconds (/proc/stat, so
  Cassandra's too) of the floor and of the job.
- P1 and P2 also time the work the daily job cannot skip, each alone: (d) the
  required pipeline with nothing evaluated (the read by shard, semi-join,
  every row to Python through Arrow: `frames.evaluated` with a function that
  only consumes its batches; on P1's cached input, the exchange putting each
  shard in one partition too), and (e) storing the run's
  violations with nothing around it (bare sqlite3 executemany, in key order,
  into an empty table of the same schema).
- P3: the daily job from Cassandra at growing sizes (loaded through the
  connector, which is quicker, by a child process), with the Python driver's
  and the JVM heap's peak memory at each size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from spark_app.common.log_setup import chosen_level, configure_logging
from spark_app.common.progress import Progress

BENCH_KEYSPACE = "fleetwatch_bench"
DAY = date(2016, 11, 16)
FAULTS_PER_SERIAL = 20
MODELS = 5
TAGS_PER_MODEL = 200
SEED = 1
Log = Callable[[str], None]


def bench_rules(vocabulary, count: int, seed: int) -> list[tuple[str, str]]:
    """(model, expression), in the shapes technicians write: pairs and chains
    within a window, nested alternatives, and single codes or alternatives
    that alert at most once a day (tti)."""
    rng = random.Random(seed)
    tags = vocabulary.tags()
    rules = []
    for index in range(count):
        row = index % len(vocabulary.models)
        a, b, c, d = (str(tag) for tag in rng.sample(list(tags[row]), 4))
        window = rng.choice(["30m", "2h", "6h"])
        expression = [
            f"{a} E:{window} {b}",
            f"{a} E:{window} {b} tti:1d",
            f"({a} E:1h {b}) OU ({c} AND:3h {d})",
            f"{a} E:2h {b} E:2h {c}",
            f"{a} OU {b} tti:1d",
            f"{a} tti:1d",
            f"({a} OU {b}) E:{window} {c} tti:6h",
            f"{a} E:{window} {a}",
        ][index % 8]
        rules.append((vocabulary.models[row], expression))
    return rules


def bench_spec(faults: int):
    """One simulated day of `faults` faults; the fleet grows with it."""
    from spark_app.sim.faults import FleetSpec

    return FleetSpec(serials=max(faults // FAULTS_PER_SERIAL, 10), models=MODELS, days=1,
                     start=DAY, faults_per_day=faults, late_fraction=0.0,
                     tags_per_model=TAGS_PER_MODEL)


def bench_config(database=None):
    """The configuration every section runs with: the scratch keyspace, and
    the section's own SQLite file."""
    from spark_app.common.config import load_config

    environ = {**os.environ, "FLEETWATCH_CASSANDRA_KEYSPACE": BENCH_KEYSPACE}
    if database is not None:
        environ["FLEETWATCH_DATABASE_URL"] = f"sqlite:///{database}"
    return load_config(environ=environ)


@dataclass
class BenchDay:
    config: object
    engine: object
    rules: list[tuple[int, str, str]]  # (rule_id, model, expression)
    spec: object


@contextmanager
def bench_day(faults: int, rules: int) -> Iterator[BenchDay]:
    """A scratch keyspace emptied of faults and pending state, a fresh SQLite
    file holding the bench rules."""
    from sqlalchemy import insert, select

    from schemas.relational import Rule
    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.config import load_config
    from spark_app.common.relational import create_tables, engine_from_config
    from spark_app.sim.faults import tag_vocabulary

    bench_dir = load_config().var_dir / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    database = bench_dir / "daily.db"
    database.unlink(missing_ok=True)
    config = bench_config(database)
    with cassandra_session(config) as session:
        apply_schema(config, session)
        for table in ("faults", "pending_faults", "pending_generations"):
            session.execute(f"TRUNCATE {BENCH_KEYSPACE}.{table}")
    engine = engine_from_config(config)
    create_tables(engine)
    spec = bench_spec(faults)
    vocabulary = tag_vocabulary(spec.models, spec.tags_per_model)
    with engine.begin() as connection:
        connection.execute(insert(Rule), [{"model": m, "expression": e}
                                          for m, e in bench_rules(vocabulary, rules, SEED)])
        stored = [tuple(row) for row in connection.execute(
            select(Rule.id, Rule.model, Rule.expression).order_by(Rule.id))]
    try:
        yield BenchDay(config, engine, stored, spec)
    finally:
        engine.dispose()


def simulated_frame(spark, day: BenchDay, rows: slice = slice(None)):
    """The day's faults (those of `rows`) as a Spark frame with the `faults`
    table's columns."""
    from spark_app.sim.faults import simulate_faults

    return _as_frame(spark, day.config.get("cassandra", "shards"),
                     simulate_faults(day.spec, SEED), rows)


def _as_frame(spark, shards: int, simulated, rows: slice):
    from pyspark.sql import functions as F

    frame = spark.createDataFrame(pd.DataFrame({
        "serial_number": simulated.serial_number[rows].astype(str),
        "model": simulated.model[rows].astype(str), "tag": simulated.tag[rows].astype(str),
        "ts": pd.to_datetime(simulated.ts_ms[rows], unit="ms"),
        "received_at": pd.to_datetime(simulated.received_ms[rows], unit="ms")}))
    return (frame.withColumn("day", F.lit(DAY))
            .withColumn("shard", (F.crc32(F.col("serial_number").cast("binary")) % shards)
                        .cast("int")))


def load_through_connector(spark, config, spec, chunk: int = 2_000_000) -> None:
    """The simulated day written by the connector, a chunk at a time: one
    frame of 16M rows would not fit the driver."""
    from spark_app.common.cassandra_read import CASSANDRA_FORMAT
    from spark_app.sim.faults import simulate_faults

    shards = config.get("cassandra", "shards")
    simulated = simulate_faults(spec, SEED)
    for start in range(0, len(simulated.serial_number), chunk):
        (_as_frame(spark, shards, simulated, slice(start, start + chunk))
         .write.format(CASSANDRA_FORMAT).options(keyspace=BENCH_KEYSPACE, table="faults")
         .mode("append").save())


def load_in_child(faults: int) -> None:
    """`python -m bench.daily load`: the day loaded by another process, so the
    memory it takes never shows in the measured driver's peak."""
    import subprocess
    import sys

    from spark_app.common.config import PROJECT_HOME

    subprocess.run([sys.executable, "-m", "bench.daily", "load", "--faults", str(faults)],
                   check=True, cwd=PROJECT_HOME)


def load_through_ingest(day: BenchDay, log: Log, chunk: int = 100_000) -> None:
    """The rows `fleetwatch ingest` writes, with its prepared statement and writer."""
    from schemas.faults import Fault
    from spark_app.common.cassandra_session import cassandra_session
    from spark_app.ingest.faults import FaultWriter
    from spark_app.sim.faults import simulate_faults

    simulated = simulate_faults(day.spec, SEED)
    total = len(simulated.serial_number)
    with cassandra_session(day.config, BENCH_KEYSPACE) as session:
        shards = day.config.get("cassandra", "shards")
        writer = FaultWriter(session, BENCH_KEYSPACE)
        with Progress("bench: faults through the ingest writer", total,
                      unit="fault") as progress:
            for start in range(0, total, chunk):
                end = min(start + chunk, total)
                writer.write(Fault.of(serial, model, tag, _instant(ts), _instant(received),
                                      shards)
                             for serial, model, tag, ts, received in zip(
                                 simulated.serial_number[start:end], simulated.model[start:end],
                                 simulated.tag[start:end], simulated.ts_ms[start:end],
                                 simulated.received_ms[start:end], strict=True))
                progress.update(end - start)
        log(f"  loaded {total:,} faults through the ingest writer")


def _instant(epoch_ms) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(epoch_ms))


def _timed(work) -> tuple[float, object]:
    began = time.monotonic()
    value = work()
    return time.monotonic() - began, value


def _session(config, name: str):
    from spark_app.common.spark_session import build_spark_session

    return build_spark_session(config, app_name=f"fleetwatch-bench-{name}")


def what_dominates(stages: list[dict], task_seconds: str = "") -> str:
    """The slowest stage of a daily run and, inside it, where its tasks' time
    went (the job's `task seconds: …` line, when it printed one)."""
    return dominant_stage(stages) + (f"; {task_seconds}" if task_seconds else "")


def run_dominated_by(result) -> str:
    """what_dominates of a run of this process (a RunResult)."""
    from spark_app.daily.main import task_seconds_text

    return what_dominates(result.stages, task_seconds_text(result.task_seconds)
                          if result.task_seconds else "")


def dominant_stage(stages: list[dict]) -> str:
    """The slowest stage of a run, from the metrics the daily job stores."""
    timed = [stage for stage in stages if stage.get("duration_s") is not None]
    if not timed:
        return "no stage metrics recorded"
    slowest = max(timed, key=lambda stage: stage["duration_s"])
    total = sum(stage["duration_s"] for stage in timed)
    return (f"stage {slowest['stage_id']} \"{slowest.get('description') or slowest.get('name')}\": "
            f"{slowest['duration_s']:.1f}s of {total:.1f}s summed over the run's stages, "
            f"{slowest.get('tasks')} tasks")


class _NothingEvaluated:
    """Stands in for `Evaluation` in `frames.evaluated`: every Arrow batch reaches
    Python, and nothing comes back."""

    @staticmethod
    def run(batches):
        for _ in batches:
            pass
        return iter(())


def rule_tags(spark, day: BenchDay):
    """The broadcast (model, tag) pairs of the day's rules, as the job builds them."""
    from spark_app.daily import frames
    from spark_app.daily.rulebook import load_rulebook

    return frames.rule_tags(spark, load_rulebook(day.engine).tag_pairs())


def required_pipeline_s(spark, faults_of_day, tags, shards: int | None = None) -> float:
    """(d): the daily job's semi-join and Arrow round trip, nothing evaluated;
    `shards`: the input is not read by shard, so the exchange gathering each
    shard in one partition is required too."""
    from spark_app.daily import frames

    evaluation_input = frames.relevant_faults(faults_of_day, tags, DAY)
    if shards:
        evaluation_input = frames.shards_together(evaluation_input, shards)
    seconds, _ = _timed(lambda: frames.evaluated(evaluation_input, _NothingEvaluated)
                        .write.format("noop").mode("overwrite").save())
    return seconds


SCANS = ("partition", "per-shard", "token-scan")


def scan_day(spark, config, how: str, day: date = DAY) -> int:
    """The day into Spark's noop sink, one way of reading it; returns the rows.
    Every row is read into Spark and dropped there: a bare count() is pushed
    down to Cassandra as one count(*) aggregation, which reads nothing into
    Spark and times out at 10M."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import faults_by_shard, faults_received, read_table

    if how == "partition":  # the whole key in one IN restriction: one task
        frame = faults_received(spark, config, [day])
    elif how == "per-shard":
        frame = faults_by_shard(spark, config, [day])
    else:  # token ranges of the whole table, the day filtered in Spark
        frame = read_table(spark, config, "faults").where(F.col("day") == F.lit(day))
    seen = Observation("scanned")
    (frame.observe(seen, F.count(F.lit(1)).alias("rows"))
     .write.format("noop").mode("overwrite").save())
    return int(seen.get["rows"])


def bare_insert_s(database: Path) -> tuple[float, int]:
    """(e): the violations a run stored in the SQLite file `database`, inserted
    again by sqlite3 alone (one executemany, key order, one commit) into a fresh
    file with the same tables and indexes, and the job's page cache; returns
    (seconds, rows). Every column the job stores, evidence included; foreign
    keys go unchecked (sqlite3's default), so this is if anything below the
    job's own cost of storing them."""
    import sqlite3
    from contextlib import closing

    from spark_app.common.relational import create_tables, engine_for_url

    with closing(sqlite3.connect(database)) as stored:
        rows = stored.execute("SELECT rule_id, serial_number, ts, detected_at, run_id, "
                              "rule_version, evidence FROM violations "
                              "ORDER BY rule_id, serial_number, ts").fetchall()
    target = Path(database).with_name("bare-insert.db")
    target.unlink(missing_ok=True)
    engine = engine_for_url(f"sqlite:///{target}")
    create_tables(engine)
    engine.dispose()
    connection = sqlite3.connect(target)
    try:
        connection.execute("PRAGMA cache_size=-262144")
        began = time.monotonic()
        connection.executemany("INSERT INTO violations (rule_id, serial_number, ts, detected_at, "
                               "run_id, rule_version, evidence) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               rows)
        connection.commit()
        return time.monotonic() - began, len(rows)
    finally:
        connection.close()
        target.unlink(missing_ok=True)


def _thesis(spark, frame, day: BenchDay) -> int:
    from bench.baselines.thesis import thesis_style_violations

    return thesis_style_violations(spark, frame.select("serial_number", "model", "tag", "ts"),
                                   day.rules)


def p1(faults: int, rules: int, log: Log = print) -> dict:
    from pyspark import StorageLevel

    from spark_app.daily import frames
    from spark_app.daily.job import run_day

    with bench_day(faults, rules) as day:
        spark = _session(day.config, "p1")
        try:
            cached = simulated_frame(spark, day).persist(StorageLevel.MEMORY_AND_DISK)
            log(f"  cached {cached.count():,} faults of {day.spec.serials:,} machines")
            tags = rule_tags(spark, day)
            floor_s, joined = _timed(lambda: frames.relevant_faults(cached, tags, DAY).count())
            log(f"  floor (scan + broadcast join + count): {floor_s:.1f}s, {joined:,} relevant")
            thesis_s, thesis_found = _timed(lambda: _thesis(spark, cached, day))
            log(f"  thesis-style: {thesis_s:.1f}s, {thesis_found:,} violations")
            fleetwatch_s, result = _timed(lambda: run_day(spark, day.config, DAY,
                                                          faults_of_day=cached))
            log(f"  fleetwatch: {fleetwatch_s:.1f}s, {result.violations_found:,} violations")
            required_s = required_pipeline_s(spark, cached, tags,
                                             day.config.get("cassandra", "shards"))
            log(f"  required pipeline, nothing evaluated: {required_s:.1f}s")
            insert_s, inserted = bare_insert_s(Path(day.engine.url.database))
            log(f"  bare sqlite3 insert of {inserted:,} violations: {insert_s:.1f}s")
        finally:
            spark.stop()
    return {"floor_s": floor_s, "thesis_s": thesis_s, "fleetwatch_s": fleetwatch_s,
            "required_pipeline_s": required_s, "bare_insert_s": insert_s,
            "faults": faults, "rules": rules, "relevant": joined,
            "violations": result.violations_found, "thesis_violations": thesis_found,
            "dominant": run_dominated_by(result)}


def p2(faults: int, rules: int, log: Log = print) -> dict:
    from bench.realistic import busy_cpu_seconds
    from spark_app.common.cassandra_read import faults_by_shard, faults_received
    from spark_app.daily.job import run_day

    with bench_day(faults, rules) as day:
        load_s, _ = _timed(lambda: load_through_ingest(day, log))
        spark = _session(day.config, "p2")
        try:
            reads = {}
            for how in SCANS:
                reads[how], scanned = _timed(lambda how=how: scan_day(spark, day.config, how))
                log(f"  bare connector scan, {how}: {reads[how]:.1f}s, {scanned:,} faults")
            floor = min(reads, key=reads.get)
            cpu = busy_cpu_seconds()
            second_scan_s, _ = _timed(lambda: scan_day(spark, day.config, floor))
            scan_cpu = busy_cpu_seconds() - cpu
            log(f"  bare connector scan again, {floor}: {second_scan_s:.1f}s, "
                f"{scan_cpu:.0f} CPU-s")
            cpu = busy_cpu_seconds()
            fleetwatch_s, result = _timed(lambda: run_day(spark, day.config, DAY))
            fleetwatch_cpu = busy_cpu_seconds() - cpu
            log(f"  fleetwatch: {fleetwatch_s:.1f}s, {fleetwatch_cpu:.0f} CPU-s, "
                f"{result.violations_found:,} violations")
            postgres = _on_postgres(spark, day, log)
            thesis_s, thesis_found = _timed(lambda: _thesis(
                spark, faults_received(spark, day.config, [DAY]), day))
            log(f"  thesis-style: {thesis_s:.1f}s, {thesis_found:,} violations")
            required_s = required_pipeline_s(
                spark, faults_by_shard(spark, day.config, [DAY]), rule_tags(spark, day))
            log(f"  required pipeline from Cassandra, nothing evaluated: {required_s:.1f}s")
            insert_s, inserted = bare_insert_s(Path(day.engine.url.database))
            log(f"  bare sqlite3 insert of {inserted:,} violations: {insert_s:.1f}s")
        finally:
            spark.stop()
    return {"scan_s": min(reads[floor], second_scan_s), "fleetwatch_s": fleetwatch_s,
            "required_pipeline_s": required_s, "bare_insert_s": insert_s,
            "thesis_s": thesis_s, "faults": scanned, "rules": rules, "load_s": load_s,
            "floor": floor, "reads_s": reads, "scans_s": [reads[floor], second_scan_s],
            "scan_cpu_s": scan_cpu, "fleetwatch_cpu_s": fleetwatch_cpu, **postgres,
            "violations": result.violations_found,
            "thesis_violations": thesis_found, "dominant": run_dominated_by(result)}


def _on_postgres(spark, day: BenchDay, log: Log) -> dict:
    """The same run on a throw-away local PostgreSQL holding the same rules:
    {"fleetwatch_postgres_s": …}, or {"postgres_error": …} where none can run."""
    import shutil
    import tempfile

    from sqlalchemy import insert, select

    from schemas.relational import Rule
    from spark_app.common.config import load_config
    from spark_app.common.relational import create_tables, engine_for_url
    from spark_app.daily.job import run_day
    from spark_app.services.postgres import LocalPostgres

    var = load_config().var_dir
    var.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="pg-", dir=var))  # short: a socket path fits 107 bytes
    server = LocalPostgres(day.config, root=root)
    try:
        server.start(echo=lambda *_: None)
        url = server.create_database("fleetwatch_bench")
        engine = engine_for_url(url)
        create_tables(engine)
        with day.engine.connect() as source, engine.begin() as target:
            target.execute(insert(Rule), [dict(row._mapping) for row in source.execute(
                select(Rule.__table__))])
        config = load_config(environ={**os.environ, "FLEETWATCH_CASSANDRA_KEYSPACE":
                                      BENCH_KEYSPACE, "FLEETWATCH_DATABASE_URL": url})
        seconds, result = _timed(lambda: run_day(spark, config, DAY))
        engine.dispose()
        log(f"  fleetwatch on PostgreSQL: {seconds:.1f}s, {result.violations_found:,} violations")
        return {"fleetwatch_postgres_s": seconds, "postgres_violations": result.violations_found}
    except Exception as error:  # the section's other figures stand without it
        log(f"  fleetwatch on PostgreSQL: not run ({type(error).__name__}: {error})")
        return {"postgres_error": f"{type(error).__name__}: {error}"}
    finally:
        try:
            server.stop(echo=lambda *_: None)
        finally:
            shutil.rmtree(root, ignore_errors=True)


def p3(sizes: list[int], rules: int, log: Log = print) -> dict:
    seconds, python_peaks, heap_peaks, dominant = [], [], [], ""
    # weighted by size, so the ETA expects the big runs to take longer
    with Progress("bench p3", sum(sizes), unit="fault", interval_s=0) as progress:
        for size in sizes:
            elapsed, result = _p3_run(size, rules, python_peaks, heap_peaks)
            seconds.append(elapsed)
            dominant = run_dominated_by(result)
            log(f"  {size:,} faults: {elapsed:.1f}s, driver peak {python_peaks[-1]:.0f} MB "
                f"(Python), JVM heap peak {heap_peaks[-1]:.0f} MB")
            progress.update(size)
    return {"sizes": sizes, "seconds": seconds, "driver_peak_mb": python_peaks,
            "jvm_heap_peak_mb": heap_peaks, "rules": rules,
            "dominant": f"at {sizes[-1]:,} faults, {dominant}"}


def _p3_run(size: int, rules: int, python_peaks: list, heap_peaks: list):
    """One size of p3: (seconds, DayResult); the peaks are appended to the lists."""
    from spark_app.daily.job import run_day

    with bench_day(size, rules) as day:
        load_in_child(size)
        spark = _session(day.config, "p3")
        try:
            _reset_peaks(spark)
            elapsed, result = _timed(lambda: run_day(spark, day.config, DAY))
            python_peaks.append(_python_peak_mb())
            heap_peaks.append(_jvm_heap_peak_mb(spark))
        finally:
            spark.stop()
    return elapsed, result


def _reset_peaks(spark) -> None:
    """Forget the peaks so far: the Python driver's (Linux clear_refs) and the
    JVM heap pools' (after a GC)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    jvm = spark.sparkContext._jvm
    jvm.java.lang.System.gc()
    for pool in jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans():
        pool.resetPeakUsage()


def _python_peak_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _jvm_heap_peak_mb(spark) -> float:
    """Driver JVM heap peak; in local mode the executors share that JVM."""
    management = spark.sparkContext._jvm.java.lang.management.ManagementFactory
    return sum(pool.getPeakUsage().getUsed() for pool in management.getMemoryPoolMXBeans()
               if pool.getType().toString() == "Heap memory") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=["p1", "p2", "p3", "load"])
    parser.add_argument("--faults", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=500)
    args = parser.parse_args()
    configure_logging(chosen_level(None))
    if args.section == "load":  # into a keyspace bench_day has just emptied
        config = bench_config()
        spark = _session(config, "load")
        try:
            load_through_connector(spark, config, bench_spec(args.faults))
        finally:
            spark.stop()
        return
    if args.section == "p3":
        figures = p3([args.faults // 4, args.faults // 2, args.faults], args.rules)
    else:
        figures = globals()[args.section](args.faults, args.rules)
    print(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
