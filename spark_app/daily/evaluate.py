"""What the daily job runs inside `mapInArrow`: whole shards, never a Python
call per row or per group.

A task holds every fault of its shard (the day's, and those read again); it
adds the shard's pending faults, sorts them by (serial_number, ts) in Arrow,
and evaluates them in chunks of whole serials. Each chunk is fanned out to
the rules its faults concern with one vectorised merge and evaluated; its new
violations go to the database from the task, and the day's own faults are
packed into the shard's blocks of the next pending generation on the way:
one pass, no exchange, nothing persisted.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rules.ast import Rule
from rules.parser import parse_rule
from rules.tti import apply_tti
from rules.vectorised import evaluate_frame
from schemas.spark import SHARD_PARTS, VIOLATION
from spark_app.common.cassandra_session import TaskCassandra
from spark_app.common.settings import CassandraSettings
from spark_app.daily.pending_blocks import BlockPacker, decode

VIOLATION_COLUMNS = VIOLATION.fieldNames()
TODAY = 0  # scope of the faults received on the day being run
# Faults per evaluated chunk (whole serials): large enough that the vectorised
# evaluator's fixed cost per call is small, small enough to bound its memory.
CHUNK_ROWS = 50_000
# Test hook: the first attempt of every task dies (SIGKILL of its Python
# worker) once a shard's violations are committed, before its blocks are
# written; Spark runs the task again where it allows retries.
KILL_AFTER_STORE_ENV = "FLEETWATCH_TEST_KILL_TASK_AFTER_STORE"


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> Rule:
    return parse_rule(expression)


def complete_groups(batches: Iterator[pd.DataFrame],
                    keys: Sequence[str] = ("serial_number",)) -> Iterator[pd.DataFrame]:
    """Re-cut batches sorted by `keys` so no group spans two."""
    carried: pd.DataFrame | None = None
    for batch in batches:
        if carried is not None:
            batch = pd.concat([carried, batch], ignore_index=True)
        if batch.empty:
            carried = None
            continue
        last = len(batch) - 1
        same_as_last = np.ones(len(batch), dtype=bool)
        for key in keys:
            values = batch[key].to_numpy()
            same_as_last &= values == values[last]
        # the trailing run of the last group (the frame is sorted, so it is a suffix)
        cut = last + 1 - int(np.argmin(same_as_last[::-1])) if not same_as_last.all() else 0
        carried = batch.iloc[cut:]
        if cut:
            yield batch.iloc[:cut]
    if carried is not None and not carried.empty:
        yield carried


def to_epoch_ms(column: pd.Series) -> np.ndarray:
    values = column.to_numpy()
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[ms]").astype(np.int64)
    return pd.to_datetime(column, utc=True).to_numpy().astype("datetime64[ms]").astype(np.int64)


class PartClock:
    """Wall seconds per part of a shard's evaluation (SHARD_PARTS). A part
    `excluding` others is timed net of the time they took inside it."""

    def __init__(self):
        self.seconds = dict.fromkeys(SHARD_PARTS, 0.0)

    @contextmanager
    def part(self, name: str, excluding: Sequence[str] = ()):
        inner = sum(self.seconds[other] for other in excluding)
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += (time.perf_counter() - began
                                   - (sum(self.seconds[other] for other in excluding) - inner))


@dataclass(frozen=True)
class Evaluation:
    """Everything a Python worker needs, shipped once in the closure.

    `scope_rules` says which rules the rows of each scope count for: scope 0
    (the day's faults) counts for every rule; scope k > 0 (generation D-k) for
    the rules that generation serves; scope -k (the faults of D-k read again)
    for the rules it does not. `stored_days` are the generations the tasks
    fetch; `cassandra` is how they reach them (None: no pending faults read or
    written, as in unit tests).
    """
    expressions: Mapping[int, str]
    versions: Mapping[int, int]  # rule id -> the version its expression is
    rule_tags: tuple[tuple[str, str, int], ...]  # (model, tag, rule_id)
    scope_rules: Mapping[int, frozenset[int]]
    db_url: str
    run_id: str
    detected_at: datetime
    upsert_batch_size: int
    block_rows: int
    day: date | None = None
    stored_days: tuple[date, ...] = ()
    cassandra: TaskCassandra | None = None
    keep_blocks: bool = True

    def rules(self) -> tuple[dict[int, Rule], dict[int, int]]:
        """The rules with tti removed (applied later, across days) and each one's tti."""
        parsed = {rule_id: _parsed(text) for rule_id, text in self.expressions.items()}
        without_tti = {rule_id: Rule(rule.expr, None, rule.source)
                       for rule_id, rule in parsed.items()}
        tti = {rule_id: rule.tti_ms for rule_id, rule in parsed.items() if rule.tti_ms}
        return without_tti, tti

    def run(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """mapInArrow over whole shards (serial_number, model, tag, ts, scope,
        shard rows; every row of a shard in this partition): per shard, fetch
        its pending faults, sort, evaluate, upsert the new violations (tti
        applied from those already stored) and store the day's faults as the
        shard's blocks of the next generation. Yields one row per shard:
        SHARD_OUTCOME."""
        from spark_app.common.relational import engine_for_url
        from spark_app.daily.pending import ShardBlocks

        batches = [batch for batch in batches if batch.num_rows]
        if not batches:
            return
        table = pa.Table.from_batches(batches)
        store = None
        if self.cassandra is not None:
            store = ShardBlocks(self.cassandra.session(),
                                self.cassandra.config.settings(CassandraSettings).keyspace)
        engine = engine_for_url(self.db_url)
        rules, tti = self.rules()
        rule_tags = pd.DataFrame(list(self.rule_tags), columns=["model", "tag", "rule_id"])
        shards = pc.unique(table.column("shard")).to_pylist()
        for shard in sorted(shards):
            rows = table if len(shards) == 1 else table.filter(
                pc.equal(table.column("shard"), shard))
            yield self._run_shard(shard, rows, store, engine, rules, tti, rule_tags)

    def _run_shard(self, shard: int, rows: pa.Table, store, engine, rules: dict[int, Rule],
                   tti: dict[int, int], rule_tags: pd.DataFrame) -> pa.RecordBatch:
        from spark_app.daily.violation_sink import upsert_violations

        clock = PartClock()
        fresh = _scoped(rows, rows.column("scope").cast(pa.int32()))
        stored = []
        with clock.part("pending"):
            for as_of, payload in (store.read(list(self.stored_days), shard) if store else ()):
                block = decode(payload)
                stored.append(_scoped(block, pa.array(
                    np.full(block.num_rows, (self.day - as_of).days, np.int32))))
        with clock.part("sort"):
            faults = pa.concat_tables([fresh, *stored])
            faults = faults.take(pc.sort_indices(
                faults, sort_keys=[("serial_number", "ascending"), ("ts", "ascending")]))
        packer = BlockPacker(shard, self.block_rows) if store and self.keep_blocks else None
        blocks: list[tuple[int, int, int, bytes]] = []

        def new_violations() -> Iterator[pd.DataFrame]:
            chunks = complete_groups(batch.to_pandas() for batch in
                                     faults.to_batches(max_chunksize=CHUNK_ROWS))
            while True:
                with clock.part("evaluate"):
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                if packer is not None:
                    with clock.part("store_blocks"):
                        blocks.extend(packer.add(chunk[chunk["scope"].to_numpy() == TODAY]))
                with clock.part("evaluate"):
                    found = self.violations(chunk, rules, tti, rule_tags)
                    rows = None if found.empty else _violation_rows(found, self.versions)
                if rows is not None:
                    yield rows

        # The upsert pulls the evaluated chunks: its own time is what is left.
        with clock.part("store_violations", excluding=("evaluate", "store_blocks")):
            found, new = upsert_violations(engine, new_violations(), self.detected_at,
                                           self.run_id, self.upsert_batch_size)
        if os.environ.get(KILL_AFTER_STORE_ENV) and _first_attempt():
            os.kill(os.getpid(), signal.SIGKILL)
        if packer is not None:
            with clock.part("store_blocks"):
                blocks.extend(packer.flush())
                store.write(self.day, blocks)
        pending_read = faults.num_rows - int(pc.sum(pc.equal(fresh.column("scope"), TODAY)).as_py()
                                             or 0)
        return pa.RecordBatch.from_pydict({
            "shard": pa.array([shard], pa.int32()), "found": pa.array([found], pa.int64()),
            "new": pa.array([new], pa.int64()), "pending_read": pa.array([pending_read], pa.int64()),
            "pending_written": pa.array([sum(block[2] for block in blocks)], pa.int64()),
            **{f"{part}_s": pa.array([clock.seconds[part]], pa.float64())
               for part in SHARD_PARTS}})

    def violations(self, faults: pd.DataFrame, rules: dict[int, Rule], tti: dict[int, int],
                   rule_tags: pd.DataFrame) -> pd.DataFrame:
        """The new violations of whole serials (rule_id, serial_number, ts: ms,
        evidence)."""
        # Only a (rule, serial) with a fresh fault (the day's own, or one read
        # again for a rule no generation serves) can hold a violation not found
        # on an earlier day.
        faults = faults[_any_in_group(faults["serial_number"].to_numpy(),
                                      faults["scope"].to_numpy() <= TODAY)]
        fanned = faults.merge(rule_tags, on=["model", "tag"])
        fanned = fanned[self._counts_for(fanned["scope"].to_numpy(), fanned["rule_id"].to_numpy())]
        serials, _ = pd.factorize(fanned["serial_number"])
        groups = fanned["rule_id"].to_numpy(np.int64) * (len(serials) + 1) + serials
        fanned = fanned[_any_in_group(groups, fanned["scope"].to_numpy() <= TODAY)]
        if fanned.empty:
            return pd.DataFrame(columns=VIOLATION_COLUMNS)
        found = evaluate_frame(fanned[["rule_id", "serial_number", "tag", "ts"]], rules,
                               witness=True)
        if tti and not found.empty:
            found = apply_tti(found, self._anchors(found, tti), tti)
        return found

    def _counts_for(self, scopes: np.ndarray, rule_ids: np.ndarray) -> np.ndarray:
        keep = scopes == TODAY
        for scope in np.unique(scopes[~keep]):
            rows = scopes == scope
            allowed = np.fromiter(self.scope_rules.get(int(scope), ()), dtype=np.int64)
            keep[rows] = np.isin(rule_ids[rows], allowed)
        return keep

    def _anchors(self, found: pd.DataFrame, tti: Mapping[int, int]) -> pd.DataFrame:
        """Stored violations of this batch's tti rules and serials, near its
        candidates: where the tti filter continues from. One query per batch."""
        from spark_app.common.relational import engine_for_url
        from spark_app.daily.violation_sink import stored_violations

        mine = found[found["rule_id"].isin(list(tti))]
        if mine.empty:
            return pd.DataFrame({"rule_id": pd.Series(dtype="int64"),
                                 "serial_number": pd.Series(dtype=object),
                                 "ts": pd.Series(dtype="int64")})
        widest = max(tti[rule_id] for rule_id in mine["rule_id"].unique())
        rows = stored_violations(engine_for_url(self.db_url), sorted(mine["rule_id"].unique()),
                                 mine["serial_number"].unique(),
                                 _to_datetime(int(mine["ts"].min()) - widest),
                                 _to_datetime(int(mine["ts"].max()) + widest))
        return pd.DataFrame({
            "rule_id": np.array([row[0] for row in rows], dtype=np.int64),
            "serial_number": np.array([row[1] for row in rows], dtype=object),
            "ts": np.array([row[2] for row in rows], dtype="datetime64[ms]").astype(np.int64)})


def _first_attempt() -> bool:
    from pyspark import TaskContext

    context = TaskContext.get()
    return context is not None and context.attemptNumber() == 0


def _any_in_group(groups: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Rows whose group has at least one flagged row."""
    codes, _ = pd.factorize(groups)
    flagged = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=bool)
    flagged[codes[flags]] = True
    return flagged[codes]


def _violation_rows(found: pd.DataFrame, versions: Mapping[int, int]) -> pd.DataFrame:
    """Found violations as `upsert_violations` takes them (ts naive UTC)."""
    rule_ids = found["rule_id"].to_numpy(np.int64)
    return pd.DataFrame({
        "rule_id": rule_ids,
        "serial_number": found["serial_number"].to_numpy(),
        "ts": found["ts"].to_numpy(np.int64).astype("datetime64[ms]").astype("datetime64[ns]"),
        "rule_version": pd.Series(rule_ids).map(versions).to_numpy(np.int64),
        "evidence": found["evidence"].to_numpy(),
    })


def _scoped(faults: pa.Table, scope: pa.Array) -> pa.Table:
    """serial_number, model, tag, ts (epoch ms) and scope: what is sorted and evaluated."""
    return pa.table({
        "serial_number": faults.column("serial_number").cast(pa.string()),
        "model": faults.column("model").cast(pa.string()),
        "tag": faults.column("tag").cast(pa.string()),
        # Cassandra's timestamps are whole milliseconds: the division is exact.
        "ts": pc.divide(faults.column("ts").cast(pa.int64()), 1000),
        "scope": scope,
    })


def _to_datetime(epoch_ms: int) -> datetime:
    """Naive UTC, as the relational tables store instants."""
    return np.datetime64(epoch_ms, "ms").astype(datetime)
