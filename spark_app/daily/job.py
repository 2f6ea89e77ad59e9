"""The daily job for one received day D (ARCHITECTURE.md, "The daily job").

1. rules: load and parse the active rules on the driver; broken ones are
   recorded and skipped.
2. evaluate, upsert, pending_write, in one pass: the day's faults (and
   `faults` of D-H … D-1 again for the rules no generation serves), read
   shard by shard, semi-joined with the broadcast (model, tag) pairs of the
   rules. Each task takes its shard's pending faults of generations D-H …
   D-1, sorts, evaluates with tti continued from the violations already
   stored, upserts the new violations and writes the day's relevant faults as
   its shard's blocks of generation D (spark_app.daily.evaluate).
3. switch to generation D, drop those before D-H.
4. record the run in job_runs (spark_app.daily.run_ledger): a successful run
   takes over the violations of the day's runs that died, so the books add up.

Every step is idempotent on (D, data): a rerun, after success or a crash at
any step, leaves the same violations and pending state.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from spark_app.common.config import Config
from spark_app.daily.run_ledger import RunLedger

STEPS = ("rules", "evaluate", "upsert", "pending_write", "switch", "drop", "record")
FAIL_AFTER_ENV = "FLEETWATCH_TEST_FAIL_AFTER"  # test hook: crash right after a step


class InjectedFailure(RuntimeError):
    """Raised by the crash-safety test hook."""


@dataclass
class RunResult:
    run_id: str
    day: date
    status: str = "running"
    faults_read: int = 0
    pending_read: int = 0
    violations_found: int = 0
    violations_inserted: int = 0  # by this run's upsert
    violations_new: int = 0  # credited in job_runs: inserted plus taken over (run_ledger)
    skipped: list[dict] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)
    # wall seconds of each part of the evaluation (schemas.spark.SHARD_PARTS),
    # summed over the shards' tasks: where the one stage's time went
    task_seconds: dict[str, float] = field(default_factory=dict)


def _fail_after(step: str, fail_after: str | None) -> None:
    if fail_after == step:
        raise InjectedFailure(f"injected failure after step {step!r}")


def run_day(spark, config: Config, day: date, fail_after: str | None = None,
            faults_of_day=None) -> RunResult:
    """Run the daily job for `day`. `faults_of_day` replaces the read of the
    day's faults from Cassandra (a benchmark's cached input); pending faults
    still come from Cassandra."""
    from spark_app.common.relational import engine_from_config
    from spark_app.daily.stage_metrics import tasks_retried

    fail_after = fail_after or os.environ.get(FAIL_AFTER_ENV)
    engine = engine_from_config(config)
    ledger = RunLedger(engine)
    result = RunResult(run_id=str(uuid.uuid4()), day=day)
    started = _utcnow()
    ledger.start(result, started)
    group = f"fleetwatch-daily-{day}-{result.run_id[:8]}"
    spark.sparkContext.setJobGroup(group, f"fleetwatch daily {day}", interruptOnCancel=True)
    try:
        _run_steps(spark, config, engine, day, result, fail_after, faults_of_day)
        if tasks_retried(spark, group):
            # A task that died after committing violations ran again, and the
            # attempt that counted found them stored already: count by run id.
            result.violations_inserted = ledger.stored_under(result.run_id)
    except BaseException as error:
        result.stages = _stages(spark, group)
        ledger.fail(result, started, _utcnow(), error=f"{type(error).__name__}: {error}")
        raise
    finally:
        spark.sparkContext.setLocalProperty("spark.job.description", None)
    result.stages = _stages(spark, group)
    ledger.succeed(result, started, _utcnow())
    _fail_after("record", fail_after)
    return result


def _run_steps(spark, config, engine, day, result, fail_after, faults_of_day) -> None:
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from schemas.spark import SHARD_PARTS
    from spark_app.common.cassandra_read import faults_by_shard
    from spark_app.common.cassandra_session import TaskCassandra, cassandra_session
    from spark_app.common.settings import CassandraSettings
    from spark_app.daily import frames
    from spark_app.daily.evaluate import Evaluation
    from spark_app.daily.pending import PendingGenerations
    from spark_app.daily.rulebook import load_rulebook
    from spark_app.daily.settings import DailySettings

    describe = spark.sparkContext.setJobDescription
    daily = config.settings(DailySettings)
    cassandra = config.settings(CassandraSettings)
    keyspace, shards = cassandra.keyspace, cassandra.shards

    rulebook = load_rulebook(engine)
    result.skipped = [skipped.as_dict() for skipped in rulebook.skipped]
    _fail_after("rules", fail_after)

    with cassandra_session(config, keyspace) as session:
        generations = PendingGenerations(session, keyspace, shards)
        fingerprints = rulebook.fingerprints()
        plan = generations.plan(day, daily.horizon_days, fingerprints)

        # Rules some generation does not serve (new, changed, or no generation
        # at all) see the recent past through `faults` itself, read with the day.
        reread = sorted(plan.reread)
        if faults_of_day is None:
            read = faults_by_shard(spark, config, [day, *reread])
        else:
            read = faults_of_day
            if reread:
                read = read.unionByName(faults_by_shard(spark, config, reread),
                                        allowMissingColumns=True)
        faults_seen = Observation("faults_read")
        read = read.observe(faults_seen, F.sum(
            F.when(F.col("day") == F.lit(day), 1).otherwise(0)).alias("rows"))
        evaluation_input = frames.relevant_faults(
            read, frames.rule_tags(spark, rulebook.tag_pairs()), day)
        if faults_of_day is not None:
            evaluation_input = frames.shards_together(evaluation_input, shards)

        evaluation = Evaluation(
            rulebook.expressions(), rulebook.versions(), tuple(rulebook.tag_rows()),
            plan.scope_rules,
            config.database_url(), result.run_id, _utcnow().replace(tzinfo=None),
            daily.upsert_batch_size, daily.block_rows, day=day,
            stored_days=tuple(plan.stored_days), cassandra=TaskCassandra.of(config),
            keep_blocks=bool(daily.horizon_days))
        if daily.horizon_days:
            generations.clear(day)  # its tasks write its blocks anew
        describe(f"read faults of {day} and pending faults, evaluate rules, "
                 "store violations and pending faults")
        # One pass: each task stores what it finds; a row per shard comes back.
        outcomes = frames.evaluated(evaluation_input, evaluation).collect()
        result.faults_read = int(faults_seen.get.get("rows") or 0)
        result.pending_read = sum(row.pending_read for row in outcomes)
        result.violations_found = sum(row.found for row in outcomes)
        result.violations_inserted = sum(row.new for row in outcomes)
        result.task_seconds = {part: sum(row[f"{part}_s"] for row in outcomes)
                               for part in SHARD_PARTS}
        for step in ("evaluate", "upsert", "pending_write"):
            _fail_after(step, fail_after)

        if daily.horizon_days:
            generations.switch_to(day, fingerprints, sum(row.pending_written for row in outcomes))
            _fail_after("switch", fail_after)
            # Keep D-H too: rerunning D needs D-H … D-1.
            generations.drop_older_than(day - timedelta(days=daily.horizon_days))
        _fail_after("drop", fail_after)


def _stages(spark, group: str) -> list[dict]:
    from spark_app.daily.stage_metrics import stages_of_job_group

    return stages_of_job_group(spark, group)


def _utcnow() -> datetime:
    return datetime.now(UTC)

