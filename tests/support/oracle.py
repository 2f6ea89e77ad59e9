"""The one brute-force oracle, written straight from RULES.md, for checking the
real evaluators: python sets, every pair, the greedy tti loop. Slow on purpose.
It takes the syntax tree (rules.ast), which property tests build directly, without
the parser they check."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product

from rules.ast import And, Or, Rule, Tag


def instants(expr, faults: list[tuple[str, int]]) -> set[int]:
    """[[expr]] over one serial's faults given as (tag, instant)."""
    if isinstance(expr, Tag):
        return {instant for tag, instant in faults if tag == expr.name}
    left, right = instants(expr.left, faults), instants(expr.right, faults)
    if isinstance(expr, Or):
        return left | right
    assert isinstance(expr, And)
    return {max(x, y) for x, y in product(left, right) if abs(x - y) <= expr.window_ms}


def greedy_kept(candidates: Iterable[int], tti_ms: int | None,
                anchors: Iterable[int] = ()) -> list[int]:
    """RULES.md's tti filter, one (rule, serial) group, as a plain loop: in time order,
    a candidate is kept unless it is closer than tti to a kept one or to an anchor
    (a violation already stored, always kept). Returns the kept candidates."""
    ordered = sorted(set(candidates))
    if tti_ms is None:
        return ordered
    kept, result = sorted(anchors), []
    for instant in ordered:
        if all(abs(instant - other) >= tti_ms for other in kept):
            kept.append(instant)
            result.append(instant)
    return result


def violations(rule: Rule, faults: list[tuple[str, int]]) -> list[int]:
    """The instants of `rule`'s violations over one serial's (tag, instant) faults."""
    return greedy_kept(instants(rule.expr, faults), rule.tti_ms)


def violations_by_serial(rule: Rule, faults: list[tuple[str, str, int]]) -> set[tuple[str, int]]:
    """(serial, instant) of every violation over (serial, tag, instant) faults."""
    found = set()
    for serial in {serial for serial, _, _ in faults}:
        mine = [(tag, t) for s, tag, t in faults if s == serial]
        found |= {(serial, t) for t in violations(rule, mine)}
    return found
