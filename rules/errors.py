"""The one exception a rule that does not parse raises."""
from __future__ import annotations

from collections.abc import Sequence


class RuleSyntaxError(ValueError):
    """A rule refused at `line`/`column` (1-based), e.g.
    ``column 12: expected a tag or '(' after 'OU', found end of rule``.

    `found` describes what is at that column ("end of rule", "tag '#B'", "'-5'");
    `expected` lists what could have been there instead, in words; it is empty
    when the text is well-formed but not acceptable (a duration too large, a
    rule nested too deeply).
    """

    def __init__(self, problem: str, *, line: int, column: int, found: str,
                 expected: Sequence[str] = ()):
        self.line = line
        self.column = column
        self.found = found
        self.expected = list(expected)
        self.problem = problem
        where = f"column {column}" if line == 1 else f"line {line}, column {column}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):
        # Picklable (Spark ships exceptions between processes) despite keyword-only arguments.
        return _rebuild, (self.problem, self.line, self.column, self.found, self.expected)


def _rebuild(problem: str, line: int, column: int, found: str, expected: list[str]):
    return RuleSyntaxError(problem, line=line, column=column, found=found, expected=expected)
