"""The simple evaluator: one rule over the faults of ONE serial number, straight from RULES.md.

It is the reference the vectorised evaluator is checked against, so it favours
plainness over speed: every node yields a sorted array of distinct instants.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .ast import And, Expr, Or, Rule, Tag

# Instants are shifted to start at 0; with at most this span, `t - window`
# and `t + tti` stay inside int64. Wider spans (absurd timestamps) are computed
# on Python ints instead.
_INT64_SAFE_SPAN = 2**62


def evaluate(rule: Rule, tags: Sequence[str], ts_ms: Sequence[int] | np.ndarray) -> np.ndarray:
    """The sorted distinct violation instants (int64 ms) of `rule` over one serial's
    faults, fault i having tag `tags[i]` at instant `ts_ms[i]`."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    if ts.size == 0:
        return np.empty(0, dtype=np.int64)
    origin = int(ts.min())
    span = int(ts.max()) - origin
    if span <= _INT64_SAFE_SPAN:
        relative = ts - np.int64(origin)
    else:
        relative = ts.astype(object) - origin
    instants = _instants(rule.expr, np.asarray(tags, dtype=object), relative, span)
    if rule.tti_ms is not None:
        instants = _time_to_ignore(instants, rule.tti_ms)
    return np.array([int(t) + origin for t in instants], dtype=np.int64)


def _instants(expr: Expr, tags: np.ndarray, ts: np.ndarray, span: int) -> np.ndarray:
    """[[expr]] as a sorted array of distinct instants."""
    if isinstance(expr, Tag):
        return np.unique(ts[tags == expr.name])
    left = _instants(expr.left, tags, ts, span)
    right = _instants(expr.right, tags, ts, span)
    if isinstance(expr, Or):
        return np.union1d(left, right)
    assert isinstance(expr, And)
    # max(x, y) over pairs |x - y| <= w is: each y with some x in [y - w, y],
    # plus each x with some y in [x - w, x]. A window wider than the span
    # behaves like the span, and clipping keeps `t - window` in range.
    window = min(expr.window_ms, span)
    return np.union1d(_with_partner_before(right, left, window),
                      _with_partner_before(left, right, window))


def _with_partner_before(instants: np.ndarray, partners: np.ndarray, window: int) -> np.ndarray:
    """The instants t having some partner in [t - window, t]."""
    first = np.searchsorted(partners, instants - window, side="left")
    after_last = np.searchsorted(partners, instants, side="right")
    return instants[first < after_last]


def _time_to_ignore(instants: np.ndarray, tti_ms: int) -> list[int]:
    kept: list[int] = []
    for t in instants.tolist():
        if not kept or t - kept[-1] >= tti_ms:
            kept.append(t)
    return kept
