"""tti across days: the greedy "time to ignore" filter continued from the
violations already stored (anchors), for many (rule, serial) groups at once.

An anchor is a violation kept on an earlier run. The greedy filter over the
anchors (always kept) and the new candidates keeps exactly: the candidates at
least `tti` away from every anchor, filtered greedily among themselves. (A
candidate left between two anchors starts at least `tti` after the earlier
one, so greedy keeps it as the first of its stretch; and one after the last
kept of a stretch is at least `tti` after it, past the next anchor.)

So with no anchors this is the plain greedy filter of RULES.md; with anchors
that are a subset of what a clean run keeps (a rerun after a crash), it still
yields that clean run's result; and no two kept instants, anchors included,
are ever closer than `tti`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

_KEY_LIMIT = 2**62


def keep_mask(groups: np.ndarray, instants: np.ndarray, anchor_groups: np.ndarray,
              anchor_instants: np.ndarray, tti: int) -> np.ndarray:
    """Which candidates to keep. Candidates must be sorted by (group, instant)
    and distinct; anchors in any order. Groups are int64 codes shared by both."""
    count = len(instants)
    if count == 0:
        return np.zeros(0, dtype=bool)
    if tti <= 0:
        return np.ones(count, dtype=bool)
    every = np.concatenate((instants, anchor_instants))
    low = int(every.min())
    stride = int(every.max()) - low + tti + 1
    if (int(max(groups.max(), anchor_groups.max(initial=0))) + 1) * stride >= _KEY_LIMIT:
        return _keep_mask_per_group(groups, instants, anchor_groups, anchor_instants, tti)
    # Composite keys: group-major, time-minor; a +/- tti step never leaves the group's band.
    keys = groups * stride + (instants - low)
    anchor_keys = np.sort(anchor_groups * stride + (anchor_instants - low))
    near_anchor = (np.searchsorted(anchor_keys, keys + tti, side="left")
                   > np.searchsorted(anchor_keys, keys - tti, side="right"))
    free = ~near_anchor
    kept = np.zeros(count, dtype=bool)
    kept[np.flatnonzero(free)[greedy_kept(keys[free], groups[free], tti)]] = True
    return kept


def greedy_kept(keys: np.ndarray, groups: np.ndarray, tti: int) -> np.ndarray:
    """Indices kept by the greedy filter, every group at once: each group's first
    is kept, and from a kept one the next is the first at least tti later (a
    step past the group's band lands on the next group's first, kept anyway).
    Pointer doubling follows all these chains together in O(n log n)."""
    count = len(keys)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    jump = np.append(np.searchsorted(keys, keys + tti, side="left"), count)
    kept = np.zeros(count + 1, dtype=bool)
    kept[np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))] = True
    kept[count] = True
    while True:
        reached = jump[kept]
        if kept[reached].all():
            return np.flatnonzero(kept[:count])
        kept[reached] = True
        jump = jump[jump]


def _keep_mask_per_group(groups, instants, anchor_groups, anchor_instants, tti) -> np.ndarray:
    """Exact fallback for instants too far apart for int64 composite keys."""
    kept = np.zeros(len(instants), dtype=bool)
    for index, (group, instant) in enumerate(zip(groups, instants, strict=True)):
        anchors = anchor_instants[anchor_groups == group]
        if np.any(np.abs(anchors - instant) < tti):
            continue
        previous = np.flatnonzero(kept[:index] & (groups[:index] == group))
        if len(previous) == 0 or instant - instants[previous[-1]] >= tti:
            kept[index] = True
    return kept


def apply_tti(candidates: pd.DataFrame, anchors: pd.DataFrame,
              tti_by_rule: Mapping[int, int]) -> pd.DataFrame:
    """Filter `candidates` (rule_id, serial_number, ts: int64 ms; distinct) by the
    tti of their rule, continuing from `anchors` (same columns: violations already
    stored). Rules without tti pass unchanged. One numpy pass per distinct tti
    value (rules share a few), every (rule, serial) group at once."""
    if candidates.empty or not tti_by_rule:
        return candidates
    candidates = candidates.sort_values(["rule_id", "serial_number", "ts"], ignore_index=True)
    rule_ids = candidates["rule_id"].to_numpy(np.int64)
    anchor_rule_ids = anchors["rule_id"].to_numpy(np.int64)
    ttis = _tti_of(rule_ids, tti_by_rule)
    anchor_ttis = _tti_of(anchor_rule_ids, tti_by_rule)
    serials = candidates["serial_number"].to_numpy()
    anchor_serials = anchors["serial_number"].to_numpy()
    instants = candidates["ts"].to_numpy(np.int64)
    anchor_instants = anchors["ts"].to_numpy(np.int64)
    keep = np.ones(len(candidates), dtype=bool)
    for tti in np.unique(ttis[ttis > 0]):
        rows, anchor_rows = np.flatnonzero(ttis == tti), np.flatnonzero(anchor_ttis == tti)
        serial_codes, names = pd.factorize(np.concatenate((serials[rows],
                                                           anchor_serials[anchor_rows])))
        pairs = (np.concatenate((rule_ids[rows], anchor_rule_ids[anchor_rows]))
                 * (len(names) + 1) + serial_codes)
        # Codes in order of first appearance: the candidates come first and are
        # sorted by (rule, serial), so their groups are numbered in sort order.
        groups, _ = pd.factorize(pairs)
        groups = groups.astype(np.int64)
        keep[rows] = keep_mask(groups[:len(rows)], instants[rows], groups[len(rows):],
                               anchor_instants[anchor_rows], int(tti))
    return candidates[keep].reset_index(drop=True)


def _tti_of(rule_ids: np.ndarray, tti_by_rule: Mapping[int, int]) -> np.ndarray:
    """Each row's tti in ms, 0 for a rule without one."""
    known = np.fromiter(tti_by_rule.keys(), dtype=np.int64, count=len(tti_by_rule))
    values = np.fromiter(tti_by_rule.values(), dtype=np.int64, count=len(tti_by_rule))
    order = np.argsort(known)
    known, values = known[order], values[order]
    at = np.minimum(np.searchsorted(known, rule_ids), len(known) - 1)
    return np.where(known[at] == rule_ids, values[at], 0)
