"""A violation's evidence: its witness, the faults whose combination yields its
instant under RULES.md's meaning (for `X E:w Y` one fault of each side within w,
for `X OR Y` the side that produced it), stored compactly as JSON text:

    [["#1.168.861.4",1479300000000],["#1.174.456.29",1479303600000]]

one [tag, epoch ms] pair per tag of the expression that took part, in the
expression's order, left to right. `witness_texts` builds it for many
violations at once (a few whole-array operations per slot, no loop per row);
`explain` reads one back and shows the windows it satisfies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .ast import And, Expr, Or, Rule, Tag, render, render_duration
from .timefmt import format_iso_ms


def witness_texts(tag_names: np.ndarray, slot_tags: np.ndarray,
                  slot_instants: np.ndarray) -> np.ndarray:
    """The evidence text of each row: slot j of row i is the fault (tag
    `tag_names[slot_tags[i, j]]`, instant `slot_instants[i, j]`), -1 tags mark
    unused slots. Slot 0 is always used (the expression's first tag taking part)."""
    if len(slot_tags) == 0:
        return np.empty(0, dtype=object)
    quoted = np.array([f'["{name}",' for name in tag_names], dtype=object)
    texts = "[" + _pairs(quoted, slot_tags[:, 0], slot_instants[:, 0])
    for slot in range(1, slot_tags.shape[1]):
        used = slot_tags[:, slot] >= 0
        pairs = np.full(len(used), "", dtype=object)
        pairs[used] = "," + _pairs(quoted, slot_tags[used, slot], slot_instants[used, slot])
        texts = texts + pairs
    return texts + "]"


def _pairs(quoted: np.ndarray, tags: np.ndarray, instants: np.ndarray) -> np.ndarray:
    return quoted[tags] + instants.astype(str).astype(object) + "]"


def witness_faults(evidence: str) -> list[tuple[str, int]]:
    """The (tag, epoch ms) faults of an evidence text."""
    return [(str(tag), int(instant)) for tag, instant in json.loads(evidence)]


@dataclass(frozen=True)
class Step:
    """One operator of the rule that the witness satisfies: `text` is the
    operator's subexpression, `detail` how the witness satisfies it."""
    text: str
    detail: str


def explain(rule: Rule, faults: list[tuple[str, int]], instant: int) -> list[Step] | None:
    """How `faults` (a witness) yield `instant` under `rule`'s expression: for
    each AND the pair within its window, for each OR the side taken (none for a
    lone tag). None if they do not (evidence that does not fit the expression)."""
    steps: list[Step] = []
    return steps if _derive(rule.expr, faults, instant, steps) else None


def _derive(expr: Expr, faults: list[tuple[str, int]], instant: int, steps: list[Step]) -> bool:
    """Whether [[expr]] over `faults` holds `instant`; appends the steps showing it.
    A witness has a handful of faults: plain recursion over them is enough."""
    if isinstance(expr, Tag):
        return (expr.name, instant) in faults
    if isinstance(expr, Or):
        for side, name in ((expr.left, "left"), (expr.right, "right")):
            found: list[Step] = []
            if _derive(side, faults, instant, found):
                steps.append(Step(render(expr), f"{name} side: {render(side)}"))
                steps.extend(found)
                return True
        return False
    assert isinstance(expr, And)
    instants = sorted({t for _, t in faults if t <= instant})
    for later_left in (True, False):
        for other in instants:
            if instant - other > expr.window_ms:
                continue
            left_at, right_at = (instant, other) if later_left else (other, instant)
            left_steps: list[Step] = []
            right_steps: list[Step] = []
            if (_derive(expr.left, faults, left_at, left_steps)
                    and _derive(expr.right, faults, right_at, right_steps)):
                apart = abs(left_at - right_at)
                steps.append(Step(render(expr), (
                    f"{render(expr.left)} at {format_iso_ms(left_at)}, "
                    f"{render(expr.right)} at {format_iso_ms(right_at)}: "
                    f"{_duration(apart)} apart, within {render_duration(expr.window_ms)}")))
                steps.extend(left_steps + right_steps)
                return True
    return False


def _duration(ms: int) -> str:
    """`ms` as days, hours, minutes and (decimal) seconds: `2h 35m 26.832s`, `30m`."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{value}{unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "m"))
             if value]
    if seconds or millis:
        parts.append(f"{seconds}.{millis:03d}s" if millis else f"{seconds}s")
    return " ".join(parts) or "0s"
