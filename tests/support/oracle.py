"""A brute-force evaluator written straight from RULES.md, for checking the
real ones: python sets, every pair, the greedy tti loop. Slow on purpose."""

from __future__ import annotations

from itertools import product

from rules.ast import And, Or, Tag


def instants(expr, faults: list[tuple[str, int]]) -> set[int]:
    """[[expr]] over one serial's faults given as (tag, instant)."""
    if isinstance(expr, Tag):
        return {instant for tag, instant in faults if tag == expr.name}
    left, right = instants(expr.left, faults), instants(expr.right, faults)
    if isinstance(expr, Or):
        return left | right
    assert isinstance(expr, And)
    return {max(x, y) for x, y in product(left, right) if abs(x - y) <= expr.window_ms}


def violations(rule, faults: list[tuple[str, int]]) -> list[int]:
    found = sorted(instants(rule.expr, faults))
    if rule.tti_ms is None:
        return found
    kept: list[int] = []
    for instant in found:
        if not kept or instant - kept[-1] >= rule.tti_ms:
            kept.append(instant)
    return kept
