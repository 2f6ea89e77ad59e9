"""The rule language's syntax tree: immutable, hashable, comparable."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Tag:
    """Every instant at which a fault with this tag occurred."""

    name: str  # with the leading '#', exactly as faults carry it


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class And:
    """Instants of `left` and `right` at most `window_ms` apart, stamped at the later."""

    left: Expr
    right: Expr
    window_ms: int


Expr = Tag | Or | And


@dataclass(frozen=True)
class Rule:
    expr: Expr
    tti_ms: int | None  # time to ignore after a kept violation; None: keep all
    source: str = ""  # the text it was parsed from, for messages

    @property
    def tags(self) -> frozenset[str]:
        return frozenset(node.name for node in walk(self.expr) if isinstance(node, Tag))


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of `expr`, parents before children (iterative: deep trees are fine)."""
    pending = [expr]
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, Tag):
            pending.append(node.right)
            pending.append(node.left)


def depth(expr: Expr) -> int:
    """Operators on the longest path from the root to a tag."""
    deepest = 0
    pending = [(expr, 0)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        if not isinstance(node, Tag):
            pending.append((node.left, level + 1))
            pending.append((node.right, level + 1))
    return deepest


_UNITS_MS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))


def render_duration(ms: int) -> str:
    """`ms` in the largest unit that divides it exactly (the language has whole seconds only)."""
    if ms == 0:
        return "0"
    for unit, unit_ms in _UNITS_MS:
        if ms % unit_ms == 0:
            return f"{ms // unit_ms}{unit}"
    raise ValueError(f"{ms} ms is not a whole number of seconds")


def render(node: Rule | Expr) -> str:
    """Canonical text that parses back to an equal tree (with minimal parentheses)."""
    if isinstance(node, Rule):
        text = render(node.expr)
        return text if node.tti_ms is None else f"{text} tti:{render_duration(node.tti_ms)}"
    if isinstance(node, Tag):
        return node.name
    if isinstance(node, Or):
        # Left-associative: only a right-hand OR needs parentheses.
        right = render(node.right)
        if isinstance(node.right, Or):
            right = _parenthesised(right)
        return f"{render(node.left)} OU {right}"
    left, right = render(node.left), render(node.right)
    if isinstance(node.left, Or):
        left = _parenthesised(left)
    if not isinstance(node.right, Tag):
        right = _parenthesised(right)
    return f"{left} E:{render_duration(node.window_ms)} {right}"


def _parenthesised(text: str) -> str:
    return f"({text})"
