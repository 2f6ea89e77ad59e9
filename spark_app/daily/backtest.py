"""`fleetwatch rules backtest`: what a rule would have found over the faults of
one model received on days D1 … D2, evaluated once over the whole window by the
daily job's evaluator (tti included), optionally diffed with a stored rule's
violations found by the runs of those days. Nothing is written anywhere.

All of it is one Spark query over the union of one scan per day (partition
keys pushed down, the model and the rule's tags as clustering restrictions),
nothing cached; adaptive execution runs it as two jobs, the read up to the
exchange by serial, then the evaluation: about one read of those days' faults
of that model (BENCHMARKS.md, "Backtest"). Progress in days comes from the read
stage's finished tasks (one per day), polled from the driver's status tracker
while the query runs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rules.ast import Rule
from rules.vectorised import evaluate_frame
from spark_app.daily.evaluate import complete_groups, to_epoch_ms

if TYPE_CHECKING:
    from sqlalchemy import Engine

BACKTEST_OUTPUT = "serial_number string, ts long"  # ts: epoch ms
CHANGES = ("added", "removed", "unchanged")


@dataclass(frozen=True)
class Backtest:
    """The rule to try, on which model's faults received on which days."""
    rule: Rule
    model: str
    first_day: date
    last_day: date

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n)
                for n in range((self.last_day - self.first_day).days + 1)]


@dataclass(frozen=True)
class BacktestResult:
    violations: pd.DataFrame  # serial_number, ts (epoch ms), sorted by both
    faults_read: int
    seconds: float


@dataclass(frozen=True)
class _WindowEvaluation:
    """What the Python workers run: whole serials, batch by batch."""
    rule: Rule

    def run(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in complete_groups(batches):
            found = evaluate_frame(pd.DataFrame({
                "rule_id": np.zeros(len(batch), dtype=np.int64),
                "serial_number": batch["serial_number"].to_numpy(),
                "tag": batch["tag"].to_numpy(),
                "ts": to_epoch_ms(batch["ts"])}), {0: self.rule})
            if len(found):
                yield found[["serial_number", "ts"]]


def run_backtest(spark, config, backtest: Backtest,
                 on_days_read: Callable[[int], None] = lambda days: None,
                 poll_s: float = 0.5) -> BacktestResult:
    """Evaluate the backtest in one Spark query; `on_days_read(days)` is called
    with the number of days read so far whenever it grows."""
    from concurrent.futures import ThreadPoolExecutor

    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import partition_filter, read_table

    began = time.monotonic()
    relevant = (F.col("model") == backtest.model) & F.col("tag").isin(sorted(backtest.rule.tags))
    # One scan per day, unioned: each day is one task of the read stage, so its
    # finished tasks count the days read; the days read in parallel. One table
    # loaded for all of them: each load asks Cassandra for the table's metadata.
    faults = read_table(spark, config, "faults")
    window = reduce(lambda left, right: left.unionAll(right), [
        faults.where(partition_filter(config, "day", [day]) & relevant)
        .select("serial_number", "tag", "ts") for day in backtest.days])
    read = Observation("backtest read")
    # No number of partitions: adaptive execution coalesces the few relevant
    # faults of a rule into fewer tasks (each Python worker's start costs seconds).
    evaluated = (window.observe(read, F.count(F.lit(1)).alias("faults"))
                 .repartition("serial_number")
                 .sortWithinPartitions("serial_number", "ts")
                 .mapInPandas(_WindowEvaluation(backtest.rule).run, BACKTEST_OUTPUT))
    group = f"backtest-{uuid.uuid4()}"

    def evaluate() -> pd.DataFrame:
        spark.sparkContext.setJobGroup(group, f"backtest of {len(backtest.days)} days")
        return evaluated.toPandas()

    days_read = _DaysRead(spark.sparkContext.statusTracker(), group, len(backtest.days))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="backtest") as pool:
        job = pool.submit(evaluate)
        while not _finished(job, poll_s):
            if days_read.grew():
                on_days_read(days_read.count)
        found = job.result()
    if days_read.count < len(backtest.days):  # the last tasks ended between two polls
        on_days_read(len(backtest.days))
    found = found.sort_values(["serial_number", "ts"], ignore_index=True)
    return BacktestResult(found, int(read.get["faults"]), time.monotonic() - began)


def _finished(job, wait_s: float) -> bool:
    from concurrent.futures import wait

    return bool(wait([job], timeout=wait_s).done)


class _DaysRead:
    """Days read so far, from the finished tasks of the job group's read stage
    (its first: the scans, before the exchange by serial)."""

    def __init__(self, tracker, group: str, days: int):
        self.tracker, self.group, self.days = tracker, group, days
        self.count = 0

    def grew(self) -> bool:
        stage_ids = [stage for job in self.tracker.getJobIdsForGroup(self.group)
                     if (info := self.tracker.getJobInfo(job)) for stage in info.stageIds]
        stage = self.tracker.getStageInfo(min(stage_ids)) if stage_ids else None
        if stage is None or not stage.numTasks:
            return False
        count = stage.numCompletedTasks * self.days // stage.numTasks
        grew, self.count = count > self.count, max(count, self.count)
        return grew


def stored_violations_of_runs(engine: Engine, rule_id: int, first_day: date,
                              last_day: date) -> pd.DataFrame:
    """Rule `rule_id`'s stored violations found by the daily runs of received
    days first_day … last_day (serial_number, ts: epoch ms)."""
    # Here, not at the top: the Python workers import this module for the
    # evaluation and need none of the database's.
    from sqlalchemy import select

    from schemas.relational import JobRun, Violation

    query = (select(Violation.serial_number, Violation.ts)
             .join(JobRun, JobRun.run_id == Violation.run_id)
             .where(Violation.rule_id == rule_id, JobRun.day.between(first_day, last_day))
             .order_by(Violation.serial_number, Violation.ts))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame({
        "serial_number": pd.Series([row[0] for row in rows], dtype=object),
        "ts": np.array([row[1] for row in rows], dtype="datetime64[ms]").astype(np.int64)})


def diff(backtested: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """serial_number, ts, change (added: only the backtest's; removed: only
    stored; unchanged: both), sorted by serial_number and ts."""
    merged = backtested.merge(stored.drop_duplicates(), on=["serial_number", "ts"], how="outer",
                              indicator=True)
    merged["change"] = merged.pop("_merge").map(
        {"left_only": "added", "right_only": "removed", "both": "unchanged"}).astype(object)
    return merged.sort_values(["serial_number", "ts"], ignore_index=True)


def per_day(violations: pd.DataFrame) -> list[dict]:
    """Violations and serials affected per UTC day of the violations' instants."""
    days = violations["ts"].to_numpy(np.int64).astype("datetime64[ms]").astype("datetime64[D]")
    counts = (pd.DataFrame({"day": days, "serial_number": violations["serial_number"]})
              .groupby("day").agg(violations=("serial_number", "size"),
                                  serials=("serial_number", "nunique")))
    return [{"day": day.date(), "violations": int(row.violations), "serials": int(row.serials)}
            for day, row in counts.iterrows()]


def per_serial(violations: pd.DataFrame) -> list[dict]:
    """The serials affected, with their violations' count, first and last instant."""
    grouped = violations.groupby("serial_number")["ts"].agg(["size", "min", "max"])
    return [{"serial_number": serial, "violations": int(row["size"]),
             "first": _instant(int(row["min"])), "last": _instant(int(row["max"]))}
            for serial, row in grouped.iterrows()]


def _instant(epoch_ms: int) -> datetime:
    return datetime(1970, 1, 1) + timedelta(milliseconds=epoch_ms)
