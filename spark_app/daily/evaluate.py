"""What the daily job runs inside `mapInPandas`: whole partitions, batch by
batch, each batch holding complete (rule, serial) groups; never a Python call
per row or per group.

The input partitions are sorted by (rule_id, serial_number, ts), so only the
last group of an Arrow batch can continue into the next one: it is held back
and evaluated with the next batch.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import pandas as pd

from rules.ast import Rule
from rules.parser import parse_rule
from rules.tti import apply_tti
from rules.vectorised import evaluate_frame

VIOLATION_COLUMNS = ["rule_id", "serial_number", "ts"]


@lru_cache(maxsize=4096)
def _parsed(expression: str) -> Rule:
    return parse_rule(expression)


def complete_groups(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Re-cut sorted batches so no (rule_id, serial_number) group spans two."""
    carried: pd.DataFrame | None = None
    for batch in batches:
        if carried is not None:
            batch = pd.concat([carried, batch], ignore_index=True)
        if batch.empty:
            carried = None
            continue
        rule_ids = batch["rule_id"].to_numpy()
        serials = batch["serial_number"].to_numpy()
        last = len(batch) - 1
        same_as_last = (rule_ids == rule_ids[last]) & (serials == serials[last])
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
    """Everything a Python worker needs, shipped once in the closure."""
    expressions: Mapping[int, str]
    db_url: str
    run_id: str
    detected_at: datetime
    upsert_batch_size: int

    def rules(self) -> tuple[dict[int, Rule], dict[int, int]]:
        """The rules with tti removed (applied later, across days) and each one's tti."""
        parsed = {rule_id: _parsed(text) for rule_id, text in self.expressions.items()}
        without_tti = {rule_id: Rule(rule.expr, None, rule.source)
                       for rule_id, rule in parsed.items()}
        tti = {rule_id: rule.tti_ms for rule_id, rule in parsed.items() if rule.tti_ms}
        return without_tti, tti

    def violations(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """mapInPandas: (rule_id, serial_number, tag, ts) → new violations (rule_id,
        serial_number, ts), tti applied from the violations already stored."""
        rules, tti = self.rules()
        for batch in complete_groups(batches):
            faults = pd.DataFrame({"rule_id": batch["rule_id"].to_numpy(np.int64),
                                   "serial_number": batch["serial_number"].to_numpy(),
                                   "tag": batch["tag"].to_numpy(),
                                   "ts": to_epoch_ms(batch["ts"])})
            found = evaluate_frame(faults, rules)
            if tti and not found.empty:
                found = apply_tti(found, self._anchors(found, tti), tti)
            if found.empty:
                continue
            yield pd.DataFrame({
                "rule_id": found["rule_id"].to_numpy(np.int64),
                "serial_number": found["serial_number"].to_numpy(),
                "ts": found["ts"].to_numpy(np.int64).astype("datetime64[ms]").astype(
                    "datetime64[ns]"),
            })

    def _anchors(self, found: pd.DataFrame, tti: Mapping[int, int]) -> pd.DataFrame:
        """Stored violations within tti of this batch's candidates, per tti rule."""
        from spark_app.daily.violation_sink import engine_for, stored_instants

        engine = engine_for(self.db_url)
        rows: list[tuple[int, str, int]] = []
        for rule_id, window in tti.items():
            mine = found[found["rule_id"] == rule_id]
            if mine.empty:
                continue
            low = _to_datetime(int(mine["ts"].min()) - window)
            high = _to_datetime(int(mine["ts"].max()) + window)
            for serial, instant in stored_instants(engine, rule_id, mine["serial_number"].unique(),
                                                   low, high):
                rows.append((rule_id, serial, _to_epoch_ms(instant)))
        return pd.DataFrame(rows, columns=VIOLATION_COLUMNS).astype(
            {"rule_id": "int64", "ts": "int64"})

    def upsert(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """mapInPandas: violations → upserted; yields (found, new) counts."""
        from spark_app.daily.violation_sink import engine_for, upsert_violations

        engine = engine_for(self.db_url)
        for batch in batches:
            if batch.empty:
                continue
            rows = [{"rule_id": int(rule_id), "serial_number": serial,
                     "ts": instant.to_pydatetime().replace(tzinfo=None),
                     "detected_at": self.detected_at, "run_id": self.run_id}
                    for rule_id, serial, instant in zip(
                        batch["rule_id"], batch["serial_number"],
                        pd.to_datetime(batch["ts"], utc=True), strict=True)]
            new = upsert_violations(engine, rows, self.upsert_batch_size)
            yield pd.DataFrame({"found": [len(rows)], "new": [new]})


def _to_datetime(epoch_ms: int) -> datetime:
    """Naive UTC, as the relational tables store instants."""
    return (np.datetime64(epoch_ms, "ms").astype(datetime))


def _to_epoch_ms(value: datetime) -> int:
    return int(np.datetime64(value.replace(tzinfo=None), "ms").astype(np.int64))
