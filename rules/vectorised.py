"""Evaluate many (rule, serial number) groups at once, with numpy, for the daily Spark job.

Python loops run once per rule and per node of its tree, never per group or row:

* Within one rule, each fault becomes an int64 key ``group * stride + (ts - group's
  first ts)``. Sorted by (serial, ts), keys ascend, and a node's result is a
  sorted array of distinct keys, so set operations are merges and binary searches.
* `stride` is twice the widest group's time span, plus 2: a window or tti is never
  usefully wider than a group's span, so after clipping to it no search reaches
  into a neighbouring group.
* tti's greedy filter is a walk along "next kept" pointers, computed for all
  groups at once by pointer doubling.
* With `witness=True`, each result key carries its witness through the same
  merges: one (tag code, key) slot per tag of the expression, left to right, -1
  where an OR took the other side. An AND pairs each instant with the EARLIEST
  partner in its window and, where both sides yield the same key, keeps the
  right side's; an OR keeps the left side's. So the witness is deterministic.

Faults with timestamps beyond ±2^61 ms (±73 million years), or so many wide
groups that keys would not fit in int64, fall back to the simple evaluator group
by group; real data never does.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import evaluator
from .ast import And, Expr, Or, Rule, Tag
from .tti import greedy_kept
from .witness import witness_texts

_KEY_LIMIT = 2**61


def evaluate_frame(faults: pd.DataFrame, rules: Mapping[int, Rule],
                   witness: bool = False) -> pd.DataFrame:
    """Violations of `rules` over `faults`.

    `faults` has columns rule_id (int), serial_number (str), tag (str) and ts (int64
    epoch ms), one row per fault and rule it may concern, in any order (sorted by
    rule_id, serial_number, ts is fastest); every (rule, serial) group must be
    complete in this one frame. Rows whose rule_id is not in `rules` are ignored,
    so a broken rule is simply left out of the mapping.

    Returns columns rule_id (int64), serial_number, ts (int64): distinct, sorted by
    all three; with `witness`, also `evidence`: the JSON text of the faults whose
    combination yields ts (rules.witness), None where instants are too far out
    for keys (beyond ±2^61 ms).
    """
    rule_codes, rule_ids = pd.factorize(faults["rule_id"].to_numpy(dtype=np.int64), sort=True)
    # sort=True: codes order like the names, so the output comes out sorted.
    serial_codes, serial_names = _codes(faults["serial_number"], sort=True)
    # Witness slots pick the smallest tag code among equal instants: sorted
    # codes make that the first tag by name, whatever the input order.
    tag_codes, tag_names = _codes(faults["tag"], sort=witness)
    ts = faults["ts"].to_numpy(dtype=np.int64)

    order = _sorting_order(rule_codes * len(serial_names) + serial_codes, ts)
    if order is not None:
        rule_codes, serial_codes, tag_codes, ts = (
            rule_codes[order], serial_codes[order], tag_codes[order], ts[order])
    tags = _TagCodes({name: code for code, name in enumerate(tag_names)}, tag_names)

    found: list[tuple[int, np.ndarray, np.ndarray]] = []
    evidence: list[np.ndarray] = []
    for rule_code, begin, end in _runs(rule_codes):
        rule = rules.get(int(rule_ids[rule_code]))
        if rule is None:
            continue
        faults_of_rule = _RuleFaults.of(serial_codes[begin:end], tag_codes[begin:end],
                                        ts[begin:end])
        stride = faults_of_rule.key_stride()
        if stride is not None:
            serials, instants, witnessed = faults_of_rule.evaluate(rule, tags, stride, witness)
        else:
            serials, instants, witnessed = faults_of_rule.evaluate_per_group(rule, tags, witness)
        found.append((int(rule_ids[rule_code]), serials, instants))
        if witness:
            evidence.append(witnessed)

    empty = np.empty(0, dtype=np.int64)
    frame = pd.DataFrame({
        "rule_id": np.concatenate([empty] + [np.full(len(t), r, np.int64) for r, _, t in found]),
        "serial_number": serial_names[np.concatenate([empty] + [s for _, s, _ in found])],
        "ts": np.concatenate([empty] + [t for _, _, t in found]),
    })
    if witness:
        frame["evidence"] = np.concatenate([np.empty(0, dtype=object)] + evidence)
    return frame


def _codes(column: pd.Series, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """Dense int64 codes of a string column, and the value of each code (an object array).

    A null gets a code of its own: it then never matches a tag, and never
    merges with another serial.
    """
    codes, values = pd.factorize(column.to_numpy(dtype=object), sort=sort)
    values = np.asarray(values, dtype=object)
    if len(codes) and codes.min() < 0:  # cheaper than pandas' use_na_sentinel=False
        codes = np.where(codes < 0, len(values), codes)
        values = np.append(values, None)
    return codes.astype(np.int64, copy=False), values


def _sorting_order(groups: np.ndarray, ts: np.ndarray) -> np.ndarray | None:
    """The permutation sorting rows by (group, ts); None if they already are."""
    if len(ts) == 0:
        return None
    ts_min, ts_span = int(ts.min()), int(ts.max()) - int(ts.min())
    if (int(groups.max()) + 1) * (ts_span + 1) >= 2**63:
        # One sortable key would overflow: sort by the two columns.
        return np.lexsort((ts, groups))
    sort_key = groups * (ts_span + 1) + (ts - ts_min)
    if np.all(sort_key[1:] >= sort_key[:-1]):
        return None
    return np.argsort(sort_key)  # equal keys are equal (group, ts): stability is moot


def _runs(sorted_codes: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """(code, begin, end) of each run of equal codes."""
    begins = _run_starts(sorted_codes)
    ends = np.append(begins, len(sorted_codes))[1:]
    return zip(sorted_codes[begins].tolist(), begins.tolist(), ends.tolist(), strict=True)


def _run_starts(sorted_values: np.ndarray) -> np.ndarray:
    """Index of the first element of each run of equal values."""
    if len(sorted_values) == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))


@dataclass(frozen=True)
class _TagCodes:
    code_of: Mapping[str, int]
    names: np.ndarray  # by code

    def membership(self, tags: set[str]) -> np.ndarray:
        """A lookup table: is_member[code] tells whether that tag is one of `tags`."""
        is_member = np.zeros(len(self.names), dtype=bool)
        is_member[[self.code_of[tag] for tag in tags if tag in self.code_of]] = True
        return is_member


@dataclass(frozen=True)
class _RuleFaults:
    """One rule's faults sorted by (serial, ts); a group is a run of one serial."""

    serial_codes: np.ndarray
    tag_codes: np.ndarray
    ts: np.ndarray
    first_rows: np.ndarray  # of each group

    @classmethod
    def of(cls, serial_codes: np.ndarray, tag_codes: np.ndarray, ts: np.ndarray) -> _RuleFaults:
        return cls(serial_codes, tag_codes, ts, _run_starts(serial_codes))

    def key_stride(self) -> int | None:
        """2 * (the widest group's span + 1), or None if keys would not fit in int64."""
        if not (-_KEY_LIMIT < self.ts.min() and self.ts.max() < _KEY_LIMIT):
            return None
        last_rows = np.append(self.first_rows[1:], len(self.ts)) - 1
        stride = 2 * int(np.max(self.ts[last_rows] - self.ts[self.first_rows])) + 2
        return stride if len(self.first_rows) * stride < _KEY_LIMIT else None

    def evaluate(self, rule: Rule, tags: _TagCodes, stride: int, witness: bool = False
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(serial code, instant) of each violation, sorted, and with `witness`
        each one's evidence text (else None)."""
        widest_span = stride // 2 - 1
        group_start = self.ts[self.first_rows]
        rows_per_group = np.diff(np.append(self.first_rows, len(self.ts)))
        # |ts| < 2^61 and keys < 2^61: nothing here overflows.
        group_base = np.arange(len(self.first_rows), dtype=np.int64) * stride - group_start
        keys = self.ts + np.repeat(group_base, rows_per_group)
        result = _Evaluation(keys, self.tag_codes, tags, widest_span, witness).of(rule.expr)
        if rule.tti_ms is not None:
            # Keys are distinct integers, so tti 0 keeps all just as tti 1 does,
            # and 1 keeps the "next kept" pointers moving forward.
            tti = min(max(rule.tti_ms, 1), widest_span + 1)
            result = result.take(greedy_kept(result.keys, result.keys // stride, tti))
        groups = result.keys // stride
        offsets = group_start[groups] - groups * stride
        evidence = None
        if witness:
            evidence = witness_texts(tags.names, result.slot_tags,
                                     result.slot_keys + offsets[:, None])
        return self.serial_codes[self.first_rows[groups]], result.keys + offsets, evidence

    def evaluate_per_group(self, rule: Rule, tags: _TagCodes, witness: bool = False
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The slow, overflow-proof way, one group at a time: the vectorised
        evaluation where the group alone fits in keys, else the simple evaluator
        (no witness: instants beyond ±2^61 ms)."""
        serials, instants, evidence = [], [], []
        bounds = np.append(self.first_rows, len(self.ts)).tolist()
        for begin, end in itertools.pairwise(bounds):
            group = _RuleFaults.of(self.serial_codes[begin:end], self.tag_codes[begin:end],
                                   self.ts[begin:end])
            stride = group.key_stride() if witness else None
            if stride is not None:
                group_serials, found, texts = group.evaluate(rule, tags, stride, witness)
            else:
                found = evaluator.evaluate(rule, tags.names[self.tag_codes[begin:end]],
                                           self.ts[begin:end])
                group_serials = np.full(len(found), self.serial_codes[begin])
                texts = np.full(len(found), None, dtype=object)
            serials.append(group_serials)
            instants.append(found)
            evidence.append(texts)
        return (np.concatenate(serials), np.concatenate(instants),
                np.concatenate(evidence) if witness else None)


@dataclass(frozen=True)
class _Found:
    """A node's result: sorted distinct keys and, when witnessed, each key's
    witness slots (tag code and key of one fault per tag of the node, -1 unused)."""

    keys: np.ndarray
    slot_tags: np.ndarray | None = None  # (len(keys), width)
    slot_keys: np.ndarray | None = None

    @property
    def width(self) -> int:
        return self.slot_tags.shape[1]

    def take(self, index: np.ndarray) -> _Found:
        if self.slot_tags is None:
            return _Found(self.keys[index])
        return _Found(self.keys[index], self.slot_tags[index], self.slot_keys[index])

    def padded(self, width: int) -> _Found:
        """The same, with unused slots appended up to `width`."""
        missing = np.full((len(self.keys), width - self.width), -1, dtype=np.int64)
        return _Found(self.keys, np.hstack((self.slot_tags, missing)),
                      np.hstack((self.slot_keys, missing)))


@dataclass(frozen=True)
class _Evaluation:
    """[[expr]] over one rule's faults, as sorted distinct keys (and witnesses)."""

    keys: np.ndarray  # of each fault, ascending
    tag_codes: np.ndarray  # of each fault
    tags: _TagCodes
    widest_span: int
    witness: bool = False

    def of(self, expr: Expr) -> _Found:
        tags = _tags_of_union(expr)
        if tags is not None:
            # A tag, or tags joined by OR only: one pass over the faults, no merging.
            mine = self.tags.membership(tags)[self.tag_codes]
            keys = self.keys[mine]
            if not self.witness:
                return _Found(_distinct(keys))
            starts = _run_starts(keys)
            # The smallest tag code at each instant (codes sort like tag names).
            first_tags = (np.minimum.reduceat(self.tag_codes[mine], starts) if len(starts)
                          else np.empty(0, dtype=np.int64))
            return _Found(keys[starts], first_tags[:, None], keys[starts][:, None])
        left, right = self.of(expr.left), self.of(expr.right)
        if isinstance(expr, Or):
            if self.witness:
                width = max(left.width, right.width)
                left, right = left.padded(width), right.padded(width)
            return _union(left, right)
        assert isinstance(expr, And)
        # max(x, y) over pairs |x - y| <= w is: each y with some x in [y - w, y],
        # plus each x with some y in [x - w, x]. Within a group a window wider than
        # the widest span acts like it, and clipped, no search leaves the group.
        window = min(expr.window_ms, self.widest_span)
        return _union(_with_partner_before(right, left, window, partner_first=True),
                      _with_partner_before(left, right, window, partner_first=False))


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
    if len(sorted_keys) == 0:
        return sorted_keys
    return sorted_keys[np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))]


def _union(a: _Found, b: _Found) -> _Found:
    """Keys of either; a key of both keeps a's witness."""
    keys = np.concatenate((a.keys, b.keys))
    if a.slot_tags is None:
        # Timsort ("stable") finds the two ascending runs and merges them in linear time.
        return _Found(_distinct(np.sort(keys, kind="stable")))
    order = np.argsort(keys, kind="stable")
    merged = _Found(keys, np.vstack((a.slot_tags, b.slot_tags)),
                    np.vstack((a.slot_keys, b.slot_keys))).take(order)
    return merged.take(_run_starts(merged.keys))


def _with_partner_before(found: _Found, partners: _Found, window: int,
                         partner_first: bool) -> _Found:
    """The keys k having some partner in [k - window, k]; witnessed by k's own
    slots and the earliest such partner's, the left operand's slots first."""
    first = np.searchsorted(partners.keys, found.keys - window, side="left")
    after_last = np.searchsorted(partners.keys, found.keys, side="right")
    matched = first < after_last
    if found.slot_tags is None:
        return _Found(found.keys[matched])
    mine, partner = found.take(matched), partners.take(first[matched])
    left, right = (partner, mine) if partner_first else (mine, partner)
    return _Found(mine.keys, np.hstack((left.slot_tags, right.slot_tags)),
                  np.hstack((left.slot_keys, right.slot_keys)))
