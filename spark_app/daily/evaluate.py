"""What the daily job runs inside `mapInPandas`: whole partitions, batch by
batch, each batch holding every fault of its serials; never a Python call
per row or per group.

The input partitions are sorted by (serial_number, ts), so only the last
serial of an Arrow batch can continue into the next one: it is held back and
evaluated with the next batch. Each batch is fanned out to the rules its
faults concern with one vectorised merge, evaluated, and the day's own faults
are packed into the next pending generation's blocks on the way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from rules.ast import Rule
from rules.parser import parse_rule
from rules.tti import apply_tti
from rules.vectorised import evaluate_frame
from schemas.spark import VIOLATION
from spark_app.daily.pending_blocks import BlockPacker

VIOLATION_COLUMNS = VIOLATION.fieldNames()
TODAY = 0  # scope of the faults received on the day being run


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


@dataclass(frozen=True)
class Evaluation:
    """Everything a Python worker needs, shipped once in the closure.

    `scope_rules` says which rules the rows of each scope count for: scope 0
    (the day's faults) counts for every rule; scope k > 0 (generation D-k) for
    the rules that generation serves; scope -k (the faults of D-k read again)
    for the rules it does not.
    """
    expressions: Mapping[int, str]
    versions: Mapping[int, int]  # rule id -> the version its expression is
    rule_tags: tuple[tuple[str, str, int], ...]  # (model, tag, rule_id)
    scope_rules: Mapping[int, frozenset[int]]
    db_url: str
    run_id: str
    detected_at: datetime
    upsert_batch_size: int
    shards: int
    block_rows: int

    def rules(self) -> tuple[dict[int, Rule], dict[int, int]]:
        """The rules with tti removed (applied later, across days) and each one's tti."""
        parsed = {rule_id: _parsed(text) for rule_id, text in self.expressions.items()}
        without_tti = {rule_id: Rule(rule.expr, None, rule.source)
                       for rule_id, rule in parsed.items()}
        tti = {rule_id: rule.tti_ms for rule_id, rule in parsed.items() if rule.tti_ms}
        return without_tti, tti

    def run(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """mapInPandas: faults (serial_number, model, tag, ts, scope) → new
        violations, tti applied from those already stored, and the blocks of
        the day's faults for the next pending generation."""
        from pyspark import TaskContext

        rules, tti = self.rules()
        rule_tags = pd.DataFrame(list(self.rule_tags), columns=["model", "tag", "rule_id"])
        packer = BlockPacker(TaskContext.get().partitionId(), self.shards, self.block_rows)
        for batch in complete_groups(batches):
            faults = pd.DataFrame({"serial_number": batch["serial_number"].to_numpy(),
                                   "model": batch["model"].to_numpy(),
                                   "tag": batch["tag"].to_numpy(),
                                   "ts": to_epoch_ms(batch["ts"]),
                                   "scope": batch["scope"].to_numpy(np.int32)})
            blocks = list(packer.add(faults[faults["scope"] == TODAY]))
            if blocks:
                yield _block_rows(blocks)
            found = self.violations(faults, rules, tti, rule_tags)
            if not found.empty:
                yield _violation_rows(found, self.versions)
        blocks = list(packer.flush())
        if blocks:
            yield _block_rows(blocks)

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

    def upsert(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """mapInPandas: violations → upserted; yields (found, new) counts."""
        from spark_app.common.relational import engine_for_url
        from spark_app.daily.violation_sink import upsert_violations

        found, new = upsert_violations(
            engine_for_url(self.db_url),
            (pd.DataFrame({"rule_id": batch["rule_id"].to_numpy(np.int64),
                           "serial_number": batch["serial_number"].to_numpy(),
                           "ts": pd.to_datetime(batch["ts"], utc=True).dt.tz_localize(None),
                           "rule_version": batch["rule_version"].to_numpy(np.int64),
                           "evidence": batch["evidence"].to_numpy()})
             for batch in batches),
            self.detected_at, self.run_id, self.upsert_batch_size)
        yield pd.DataFrame({"found": [found], "new": [new]})


def _any_in_group(groups: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Rows whose group has at least one flagged row."""
    codes, _ = pd.factorize(groups)
    flagged = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=bool)
    flagged[codes[flags]] = True
    return flagged[codes]


def _violation_rows(found: pd.DataFrame, versions: Mapping[int, int]) -> pd.DataFrame:
    count = len(found)
    rule_ids = found["rule_id"].to_numpy(np.int64)
    return pd.DataFrame({
        "rule_id": rule_ids,
        "serial_number": found["serial_number"].to_numpy(),
        "ts": found["ts"].to_numpy(np.int64).astype("datetime64[ms]").astype("datetime64[ns]"),
        "rule_version": pd.Series(rule_ids).map(versions).to_numpy(np.int32),
        "evidence": found["evidence"].to_numpy(),
        "shard": pd.array([None] * count, dtype="Int32"),
        "block": pd.array([None] * count, dtype="Int32"),
        "faults": pd.array([None] * count, dtype="Int32"),
        "payload": [None] * count,
    })


def _block_rows(blocks: list[tuple[int, int, int, bytes]]) -> pd.DataFrame:
    count = len(blocks)
    shards, block_ids, faults, payloads = zip(*blocks, strict=True)
    return pd.DataFrame({
        "rule_id": pd.array([None] * count, dtype="Int64"),
        "serial_number": [None] * count,
        "ts": np.full(count, np.datetime64("NaT"), dtype="datetime64[ns]"),
        "rule_version": pd.array([None] * count, dtype="Int32"),
        "evidence": [None] * count,
        "shard": np.array(shards, dtype=np.int32),
        "block": np.array(block_ids, dtype=np.int32),
        "faults": np.array(faults, dtype=np.int32),
        "payload": list(payloads),
    })


def _to_datetime(epoch_ms: int) -> datetime:
    """Naive UTC, as the relational tables store instants."""
    return np.datetime64(epoch_ms, "ms").astype(datetime)
