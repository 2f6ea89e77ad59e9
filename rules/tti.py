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
    stored). Rules without tti pass unchanged. One numpy pass per rule."""
    if candidates.empty or not tti_by_rule:
        return candidates
    candidates = candidates.sort_values(["rule_id", "serial_number", "ts"], ignore_index=True)
    keep = np.ones(len(candidates), dtype=bool)
    rule_ids = candidates["rule_id"].to_numpy()
    for rule_id, tti in tti_by_rule.items():
        rows = np.flatnonzero(rule_ids == rule_id)
        if len(rows) == 0:
            continue
        mine = anchors[anchors["rule_id"] == rule_id]
        serials = candidates["serial_number"].to_numpy()[rows]
        codes, names = pd.factorize(np.concatenate((serials, mine["serial_number"].to_numpy())))
        keep[rows] = keep_mask(codes[:len(rows)].astype(np.int64),
                               candidates["ts"].to_numpy(dtype=np.int64)[rows],
                               codes[len(rows):].astype(np.int64),
                               mine["ts"].to_numpy(dtype=np.int64), tti)
    return candidates[keep].reset_index(drop=True)
