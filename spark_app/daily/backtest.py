"""`fleetwatch rules backtest`: what a rule would have found over the faults of
one model received on days D1 … D2, evaluated once over the whole window by the
daily job's evaluator (tti included), optionally diffed with a stored rule's
violations found by the runs of those days. Nothing is written anywhere.

The faults are read day by day (partition keys pushed down, the model as a
clustering restriction, the rule's tags filtered), each day's relevant faults cached as
it is read so progress can be shown in days; the evaluation then runs once
over their union: about one read of those days' faults of that model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from rules.ast import Rule
from rules.vectorised import evaluate_frame
from schemas.relational import JobRun, Violation
from spark_app.daily.evaluate import complete_groups, to_epoch_ms

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
                 on_day: Callable[[date, int], None] = lambda day, faults: None
                 ) -> BacktestResult:
    """Evaluate the backtest; `on_day(day, faults)` is called as each day is read."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import faults_received

    began = time.monotonic()
    tags = sorted(backtest.rule.tags)
    read, faults_read = [], 0
    try:
        for day in backtest.days:
            faults = (faults_received(spark, config, [day])
                      .where((F.col("model") == backtest.model) & F.col("tag").isin(tags))
                      .select("serial_number", "tag", "ts")
                      .persist(StorageLevel.MEMORY_AND_DISK))
            read.append(faults)
            count = faults.count()
            faults_read += count
            on_day(day, count)
        window = read[0]
        for faults in read[1:]:
            window = window.unionByName(faults)
        partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
        found = (window.repartition(partitions, "serial_number")
                 .sortWithinPartitions("serial_number", "ts")
                 .mapInPandas(_WindowEvaluation(backtest.rule).run, BACKTEST_OUTPUT)
                 .toPandas())
    finally:
        for faults in read:
            faults.unpersist()
    found = found.sort_values(["serial_number", "ts"], ignore_index=True)
    return BacktestResult(found, faults_read, time.monotonic() - began)


def stored_violations_of_runs(engine: Engine, rule_id: int, first_day: date,
                              last_day: date) -> pd.DataFrame:
    """Rule `rule_id`'s stored violations found by the daily runs of received
    days first_day … last_day (serial_number, ts: epoch ms)."""
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
