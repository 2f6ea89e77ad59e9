"""The daily job against the floor of reading its day from Cassandra:
`python -m bench.daily [--faults 1000000] [--rules 500]`.

Loads N simulated faults received on one day into a scratch keyspace (through
the connector, so loading is quick), stores 500 rules of mixed shapes over the
simulator's codes, then times in one Spark session: (a) a bare connector scan
of the day (count), (b) the daily job for that day. Prints both, the ratio and
the stage that dominated the job (from job_runs.stage_metrics).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from datetime import date

import pandas as pd

BENCH_KEYSPACE = "fleetwatch_bench"
DAY = date(2016, 11, 16)


def bench_rules(vocabulary, count: int, seed: int) -> list[tuple[str, str]]:
    """(model, expression): singles, ORs, ANDs with windows, nested, some with tti."""
    rng = random.Random(seed)
    tags = vocabulary.tags()
    rules = []
    for index in range(count):
        row = index % len(vocabulary.models)
        pick = [str(tag) for tag in rng.sample(list(tags[row]), 4)]
        shape = index % 5
        expression = [
            pick[0],
            f"{pick[0]} OU {pick[1]}",
            f"{pick[0]} E:{rng.choice(['30m', '2h', '6h'])} {pick[1]}",
            f"({pick[0]} E:1h {pick[1]}) OU ({pick[2]} AND:3h {pick[3]})",
            f"{pick[0]} E:2h {pick[1]} tti:{rng.choice(['1h', '6h'])}",
        ][shape]
        rules.append((vocabulary.models[row], expression))
    return rules


def run(faults: int, rules: int, seed: int = 1) -> dict:
    from pyspark.sql import functions as F
    from sqlalchemy import insert

    from schemas.relational import Rule
    from spark_app.cassandra_read import CASSANDRA_FORMAT
    from spark_app.cassandra_session import apply_schema, cassandra_session
    from spark_app.config import load_config
    from spark_app.daily import frames
    from spark_app.daily.job import run_day
    from spark_app.relational import create_tables, engine_from_config
    from spark_app.session import build_spark_session
    from spark_app.simulator import FleetSpec, simulate_faults, tag_vocabulary

    bench_dir = load_config().var_dir / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    database = bench_dir / "daily.db"
    database.unlink(missing_ok=True)
    config = load_config(environ={**os.environ, "FLEETWATCH_CASSANDRA_KEYSPACE": BENCH_KEYSPACE,
                                  "FLEETWATCH_DATABASE_URL": f"sqlite:///{database}"})
    with cassandra_session(config) as session:
        apply_schema(config, session)
        for table in ("faults", "pending_faults", "pending_generations"):
            session.execute(f"TRUNCATE {BENCH_KEYSPACE}.{table}")
    engine = engine_from_config(config)
    create_tables(engine)
    spec = FleetSpec(serials=20_000, models=5, days=1, start=DAY, faults_per_day=faults,
                     late_fraction=0.0)
    vocabulary = tag_vocabulary(spec.models, spec.tags_per_model)
    with engine.begin() as connection:
        connection.execute(insert(Rule), [{"model": m, "expression": e}
                                          for m, e in bench_rules(vocabulary, rules, seed)])

    spark = build_spark_session(config, app_name="fleetwatch-bench-daily")
    try:
        simulated = simulate_faults(spec, seed)
        shards = config.get("cassandra", "shards")
        frame = spark.createDataFrame(pd.DataFrame({
            "serial_number": simulated.serial_number.astype(str),
            "model": simulated.model.astype(str), "tag": simulated.tag.astype(str),
            "ts": pd.to_datetime(simulated.ts_ms, unit="ms"),
            "received_at": pd.to_datetime(simulated.received_ms, unit="ms")}))
        began = time.monotonic()
        (frame.withColumn("day", F.lit(DAY))
         .withColumn("shard", (F.crc32(F.col("serial_number").cast("binary")) % shards)
                     .cast("int"))
         .write.format(CASSANDRA_FORMAT).options(keyspace=BENCH_KEYSPACE, table="faults")
         .mode("append").save())
        print(f"loaded {faults:,} faults in {time.monotonic() - began:.1f}s", flush=True)

        began = time.monotonic()
        scanned = frames.faults_received(spark, config, [DAY]).count()
        scan_s = time.monotonic() - began
        began = time.monotonic()
        result = run_day(spark, config, DAY)
        daily_s = time.monotonic() - began
    finally:
        spark.stop()
    stages = [stage for stage in result.stages if "duration_s" in stage]
    slowest = max(stages, key=lambda stage: stage["duration_s"] or 0) if stages else {}
    figures = {"faults": scanned, "rules": rules, "scan_s": round(scan_s, 2),
               "daily_s": round(daily_s, 2), "ratio": round(daily_s / scan_s, 2),
               "violations": result.violations_found,
               "dominant_stage": {key: slowest.get(key) for key in
                                  ("description", "name", "duration_s", "tasks")}}
    print(json.dumps(figures, indent=1))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=500)
    args = parser.parse_args()
    run(args.faults, args.rules)


if __name__ == "__main__":
    main()
