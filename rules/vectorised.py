"""Evaluate many (rule, serial number) groups at once, with numpy, for the daily Spark job.

Python loops run once per rule and per node of its tree, never per group or row:

* Within one rule, each fault becomes an int64 key ``group * stride + (ts - group's
  first ts)``. Sorted by (serial, ts), keys ascend, and a node's result is a
  sorted array of distinct keys, so set operations are merges and binary searches.
* `stride` is twice the widest group's time span (+2): a window or tti is never
  usefully wider than one group's span, so after clipping to it no search can
  reach into a neighbouring group.
* tti's greedy filter is a walk along "next kept" pointers, computed for all
  groups at once by pointer doubling.

Faults with timestamps beyond ±2^61 ms, or so many groups that keys would not fit
in int64, fall back to the simple evaluator group by group; real data never does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from . import evaluator
from .ast import And, Expr, Or, Rule, Tag

_KEY_LIMIT = 2**61

OUTPUT_COLUMNS = ["rule_id", "serial_number", "ts"]


def evaluate_frame(faults: pd.DataFrame, rules: Mapping[int, Rule]) -> pd.DataFrame:
    """Violations of `rules` over `faults`.

    `faults` has columns rule_id (int), serial_number (str), tag (str) and ts (int64
    epoch ms), one row per fault and rule it may concern, in any order; every
    (rule, serial) group must be complete in this one frame. Rows whose rule_id
    is not in `rules` are ignored (a broken rule is left out of the mapping).

    Returns columns rule_id, serial_number, ts: distinct, sorted by all three.
    """
    rule_ids = faults["rule_id"].to_numpy(dtype=np.int64)
    ts = faults["ts"].to_numpy(dtype=np.int64)
    # sort=True: serial codes order like the strings, so output comes out sorted.
    serial_codes, serial_names = pd.factorize(faults["serial_number"], sort=True,
                                              use_na_sentinel=False)
    tag_codes, tag_names = pd.factorize(faults["tag"])
    serial_codes = serial_codes.astype(np.int64, copy=False)

    if not _is_sorted(rule_ids, serial_codes, ts):
        order = np.lexsort((ts, serial_codes, rule_ids))
        rule_ids, serial_codes, ts, tag_codes = (
            rule_ids[order], serial_codes[order], ts[order], tag_codes[order])
    tag_code_of = {name: code for code, name in enumerate(tag_names)}
    keys_fit = len(ts) == 0 or (-_KEY_LIMIT < ts.min() and ts.max() < _KEY_LIMIT)

    found: list[tuple[int, np.ndarray, np.ndarray]] = []
    for rule_id, begin, end in _runs(rule_ids):
        rule = rules.get(rule_id)
        if rule is None:
            continue
        faults_of_rule = _RuleFaults(serial_codes[begin:end], tag_codes[begin:end], ts[begin:end])
        if keys_fit and faults_of_rule.keys_fit():
            serials, instants = faults_of_rule.evaluate(rule, tag_code_of)
        else:
            serials, instants = faults_of_rule.evaluate_per_group(rule, np.asarray(tag_names))
        found.append((rule_id, serials, instants))

    if not found:
        return pd.DataFrame({"rule_id": np.empty(0, np.int64),
                             "serial_number": np.empty(0, object),
                             "ts": np.empty(0, np.int64)})
    return pd.DataFrame({
        "rule_id": np.concatenate([np.full(len(t), r, np.int64) for r, _, t in found]),
        "serial_number": np.asarray(serial_names, dtype=object)[
            np.concatenate([s for _, s, _ in found])],
        "ts": np.concatenate([t for _, _, t in found]),
    })


def _is_sorted(rule_ids: np.ndarray, serial_codes: np.ndarray, ts: np.ndarray) -> bool:
    """Already in (rule_id, serial, ts) order? The daily job hands over sorted batches."""
    r0, r1 = rule_ids[:-1], rule_ids[1:]
    s0, s1 = serial_codes[:-1], serial_codes[1:]
    return bool(np.all((r0 < r1) | ((r0 == r1) & ((s0 < s1) | ((s0 == s1) & (ts[:-1] <= ts[1:]))))))


def _runs(sorted_values: np.ndarray):
    """(value, begin, end) of each run of equal values."""
    if len(sorted_values) == 0:
        return
    begins = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[begins[1:], len(sorted_values)]
    yield from zip(sorted_values[begins].tolist(), begins.tolist(), ends.tolist())


@dataclass(frozen=True)
class _RuleFaults:
    """One rule's faults, sorted by (serial, ts); groups are runs of one serial."""

    serial_codes: np.ndarray
    tag_codes: np.ndarray
    ts: np.ndarray

    def __post_init__(self):
        first_rows = np.flatnonzero(np.r_[True, self.serial_codes[1:] != self.serial_codes[:-1]])
        last_rows = np.r_[first_rows[1:] - 1, len(self.ts) - 1]
        group_start = self.ts[first_rows]
        # Spans are computed in float first: with absurd timestamps int64 would wrap.
        widest = float(np.max(self.ts[last_rows].astype(float) - group_start))
        object.__setattr__(self, "first_rows", first_rows)
        object.__setattr__(self, "group_start", group_start)
        object.__setattr__(self, "widest_span", int(np.max(self.ts[last_rows] - group_start))
                           if widest < _KEY_LIMIT else None)

    def keys_fit(self) -> bool:
        return (self.widest_span is not None
                and len(self.first_rows) * (2 * self.widest_span + 2) < _KEY_LIMIT)

    def evaluate(self, rule: Rule, tag_code_of: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """(serial code, instant) of each violation, sorted."""
        stride = 2 * self.widest_span + 2
        counts = np.diff(np.r_[self.first_rows, len(self.ts)])
        # ts in [-2^61, 2^61] and keys < 2^61: nothing here can overflow.
        keys = self.ts + np.repeat(np.arange(len(counts), dtype=np.int64) * stride
                                   - self.group_start, counts)
        result = _Evaluation(keys, self.tag_codes, tag_code_of, self.widest_span).instants(rule.expr)
        if rule.tti_ms is not None:
            result = _time_to_ignore(result, min(rule.tti_ms, self.widest_span + 1), stride)
        groups = result // stride
        return (self.serial_codes[self.first_rows[groups]],
                result - groups * stride + self.group_start[groups])

    def evaluate_per_group(self, rule: Rule, tag_names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The slow, overflow-proof way: the simple evaluator, one group at a time."""
        serials, instants = [], []
        bounds = np.r_[self.first_rows, len(self.ts)]
        for begin, end in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            found = evaluator.evaluate(rule, tag_names[self.tag_codes[begin:end]], self.ts[begin:end])
            serials.append(np.full(len(found), self.serial_codes[begin]))
            instants.append(found)
        return np.concatenate(serials), np.concatenate(instants)


@dataclass(frozen=True)
class _Evaluation:
    """[[expr]] for one rule's faults, as sorted distinct keys."""

    keys: np.ndarray  # one per fault, ascending
    tag_codes: np.ndarray
    tag_code_of: Mapping[str, int]
    widest_span: int

    def instants(self, expr: Expr) -> np.ndarray:
        tags = _tags_of_union(expr)
        if tags is not None:
            # A tag, or an OR of tags only: one pass over the faults, no merging.
            codes = [self.tag_code_of[tag] for tag in tags if tag in self.tag_code_of]
            return _distinct(self.keys[np.isin(self.tag_codes, codes)])
        left, right = self.instants(expr.left), self.instants(expr.right)
        if isinstance(expr, Or):
            return _union(left, right)
        assert isinstance(expr, And)
        # max(x, y) over pairs |x - y| <= w is: each y with some x in [y - w, y],
        # plus each x with some y in [x - w, x]. Within a group, a window wider
        # than the widest span behaves like it, and clipping keeps searches inside
        # the group (stride > 2 * widest span).
        window = min(expr.window_ms, self.widest_span)
        return _union(_with_partner_before(right, left, window),
                      _with_partner_before(left, right, window))


def _tags_of_union(expr: Expr) -> set[str] | None:
    """The tags of `expr` if it is only tags joined by OR, else None."""
    if isinstance(expr, Tag):
        return {expr.name}
    if isinstance(expr, Or):
        left, right = _tags_of_union(expr.left), _tags_of_union(expr.right)
        if left is not None and right is not None:
            return left | right
    return None


def _distinct(sorted_keys: np.ndarray) -> np.ndarray:
    return sorted_keys[np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]] if len(sorted_keys) else sorted_keys


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Timsort ("stable") finds the two ascending runs and merges them in linear time.
    return _distinct(np.sort(np.concatenate([a, b]), kind="stable"))


def _with_partner_before(keys: np.ndarray, partners: np.ndarray, window: int) -> np.ndarray:
    """The keys k having some partner in [k - window, k]."""
    first = np.searchsorted(partners, keys - window, side="left")
    after_last = np.searchsorted(partners, keys, side="right")
    return keys[first < after_last]


def _time_to_ignore(keys: np.ndarray, tti: int, stride: int) -> np.ndarray:
    """Greedy tti filter in every group at once.

    Kept violations form a chain from each group's first: next[i] is the first
    j with key[j] >= key[i] + tti. With tti clipped to the widest span + 1, a
    chain that leaves its group lands on the next group's first violation
    (kept anyway) or past the end. The chains are followed by pointer doubling:
    after round r the kept set holds the first 2^r links of every chain, and
    `jump` skips 2^r links.
    """
    count = len(keys)
    if count == 0:
        return keys
    jump = np.append(np.searchsorted(keys, keys + tti, side="left"), count)  # `count`: the end
    groups = keys // stride
    kept = np.zeros(count + 1, dtype=bool)
    kept[np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])] = True
    kept[count] = True
    while True:
        reached = jump[np.flatnonzero(kept)]
        if kept[reached].all():
            return keys[kept[:count]]
        kept[reached] = True
        jump = jump[jump]
