"""The daily job for one received day D (ARCHITECTURE.md, "The daily job").

1. rules: load and parse the active rules on the driver; broken ones are
   recorded and skipped.
2. evaluate: the day's faults (partition key pushed down) semi-joined with
   the broadcast (model, tag) pairs of the rules; the pending faults valid for
   D (generations D-H … D-1, and `faults` of those days again for the rules a
   generation does not serve); repartitioned by serial, sorted, evaluated in
   mapInPandas with tti continued from the violations already stored. The
   same pass packs the day's relevant faults into the next generation's
   blocks. Its output (violations and blocks, small) is cached.
3. upsert the violations from the executors.
4. pending: write generation as_of D, switch to it, drop those before D-H.
5. record the run in job_runs (spark_app.daily.run_ledger): a successful run
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


def _fail_after(step: str, fail_after: str | None) -> None:
    if fail_after == step:
        raise InjectedFailure(f"injected failure after step {step!r}")


def run_day(spark, config: Config, day: date, fail_after: str | None = None,
            faults_of_day=None) -> RunResult:
    """Run the daily job for `day`. `faults_of_day` replaces the read of the
    day's faults from Cassandra (a benchmark's cached input); pending faults
    still come from Cassandra."""
    from spark_app.common.relational import engine_from_config

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
    from pyspark import StorageLevel
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import faults_received
    from spark_app.common.cassandra_session import cassandra_session
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

        faults_seen, pending_seen = Observation("faults_read"), Observation("pending_read")
        if faults_of_day is None:
            faults_of_day = faults_received(spark, config, [day])
        today = frames.relevant_faults(
            faults_of_day.observe(
                faults_seen, F.count(F.lit(1)).alias("rows")),
            frames.rule_tags(spark, rulebook.tag_pairs()), day)
        pending = []
        if plan.stored_days:
            pending.append(frames.stored_pending(spark, config, plan.stored_days, day))
        if plan.reread:
            # Rules some generation does not serve (new, changed, or no
            # generation at all) see the recent past through `faults` itself.
            missing = frozenset().union(*plan.reread.values())
            pending.append(frames.relevant_faults(
                faults_received(spark, config, sorted(plan.reread)),
                frames.rule_tags(spark, rulebook.tag_pairs(missing)), day))
        pending_input = frames.union_all(spark, pending).observe(
            pending_seen, F.count(F.lit(1)).alias("rows"))

        evaluation = Evaluation(
            rulebook.expressions(), rulebook.versions(), tuple(rulebook.tag_rows()),
            plan.scope_rules,
            config.database_url(), result.run_id, _utcnow().replace(tzinfo=None),
            daily.upsert_batch_size, shards, daily.block_rows)
        partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
        evaluated = frames.evaluated(today.unionByName(pending_input), evaluation,
                                     partitions).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            describe(f"read faults of {day} and pending faults, evaluate rules")
            evaluated.count()  # one read of Cassandra; violations and blocks are kept
            result.faults_read = int(faults_seen.get.get("rows", 0))
            result.pending_read = int(pending_seen.get.get("rows", 0))
            _fail_after("evaluate", fail_after)

            describe(f"upsert violations of {day}")
            result.violations_found, result.violations_inserted = frames.upsert(
                frames.violations(evaluated), evaluation)
            _fail_after("upsert", fail_after)

            if daily.horizon_days:
                describe(f"write pending generation as of {day}")
                generations.clear(day)
                blocks = frames.pending_blocks(evaluated, day)
                frames.write_pending(blocks, config)
                _fail_after("pending_write", fail_after)
                generations.switch_to(day, fingerprints, _pending_count(blocks))
                _fail_after("switch", fail_after)
                # Keep D-H too: rerunning D needs D-H … D-1.
                generations.drop_older_than(day - timedelta(days=daily.horizon_days))
            _fail_after("drop", fail_after)
        finally:
            evaluated.unpersist()


def _pending_count(blocks) -> int:
    from pyspark.sql import functions as F

    return int(blocks.agg(F.sum("faults")).collect()[0][0] or 0)


def _stages(spark, group: str) -> list[dict]:
    from spark_app.daily.stage_metrics import stages_of_job_group

    return stages_of_job_group(spark, group)


def _utcnow() -> datetime:
    return datetime.now(UTC)

