"""Text -> `Rule`, or a `RuleSyntaxError` naming the column, what was found and what was
expected there."""
from __future__ import annotations

import functools
import re

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from .ast import And, Expr, Or, Rule, Tag, depth
from .errors import RuleSyntaxError

# Deeper trees would strain Python's recursion in the evaluators and in
# dataclass equality; no hand-written rule comes near.
MAX_DEPTH = 200
# Instants and windows are int64 milliseconds.
MAX_DURATION_MS = 2**63 - 1

_UNIT_MS = {"": 1_000, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

# How each terminal of grammar.lark is named in messages, in the order they are listed.
_TERMINAL_WORDS = {
    "TAG": "a tag",
    "LPAR": "'('",
    "COLON": "':'",
    "DURATION": "a duration",
    "OR_OP": "'OU'/'OR'",
    "AND_OP": "'E'/'AND'",
    "TTI": "'tti'",
    "RPAR": "')'",
    "$END": "end of rule",
}

_FOUND_MAX_CHARS = 20
# What to show as found at a bad character: up to the next white space (as the
# grammar counts it) or parenthesis.
_WORD_AT = re.compile(r"[^ \t\f\r\n()]*")


@functools.cache
def _parser() -> Lark:
    return Lark.open("grammar.lark", rel_to=__file__, parser="lalr", propagate_positions=True)


def parse_rule(text: str) -> Rule:
    """Parse one rule; any text that is not a rule raises `RuleSyntaxError`, nothing else."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    try:
        expr, tti_ms = _ToAst().transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, RuleSyntaxError):
            raise error.orig_exc from None
        if isinstance(error.orig_exc, RecursionError):
            raise _too_deep() from None
        raise
    except RecursionError:
        raise _too_deep() from None
    if depth(expr) > MAX_DEPTH:
        raise _too_deep()
    return Rule(expr, tti_ms, text)


class _ToAst(Transformer):
    """Parse tree -> (Expr, tti_ms | None). Operator and ':' tokens carry no meaning here."""

    def tag(self, children: list[Token]) -> Tag:
        (name,) = children
        return Tag(str(name))

    def or_op(self, children: list) -> Or:
        left, _operator, right = children
        return Or(left, right)

    def and_op(self, children: list) -> And:
        left, _operator, window, right = children
        return And(left, right, _duration_ms(window))

    def tti(self, children: list[Token]) -> int:
        _keyword, duration = children
        return _duration_ms(duration)

    def start(self, children: list) -> tuple[Expr, int | None]:
        expr, *tti = children
        return expr, (tti[0] if tti else None)


def _duration_ms(token: Token) -> int:
    digits = token.rstrip("smhd")
    unit_ms = _UNIT_MS[token[len(digits):]]
    # Length first: int() of a huge digit string is slow, then refused by Python.
    if len(digits) > len(str(MAX_DURATION_MS)) or int(digits) * unit_ms > MAX_DURATION_MS:
        raise RuleSyntaxError(
            f"duration {_quoted(token)} is too large (at most {MAX_DURATION_MS // 1000} s)",
            line=token.line, column=token.column, found=f"duration {_quoted(token)}")
    return int(digits) * unit_ms


def _too_deep() -> RuleSyntaxError:
    return RuleSyntaxError(f"the rule nests more than {MAX_DEPTH} operators",
                           line=1, column=1, found="a rule nested too deeply")


def _syntax_error(text: str, error: UnexpectedInput) -> RuleSyntaxError:
    if isinstance(error, UnexpectedToken) and error.token.type == "$END":
        previous, expected = _replay(text, stop_at=None)
        line, column = (previous.end_line, previous.end_column) if previous else (1, 1)
        found = "end of rule"
    elif isinstance(error, UnexpectedToken):
        previous, expected = _replay(text, stop_at=error.token.start_pos)
        line, column = error.token.line, error.token.column
        found = _describe(error.token)
    elif isinstance(error, UnexpectedCharacters):
        previous, expected = _replay(text, stop_at=error.pos_in_stream)
        line, column = error.line, error.column
        word = _WORD_AT.match(text, error.pos_in_stream).group()
        found = _quoted(word or text[error.pos_in_stream])
    else:  # UnexpectedEOF: Earley only, but keep the "only RuleSyntaxError" promise
        previous, expected = None, set()
        line, column, found = 1, 1, "end of rule"
    words = [word for name, word in _TERMINAL_WORDS.items() if name in expected]
    after = f" after {_describe(previous)}" if previous is not None else ""
    return RuleSyntaxError(f"expected {_one_of(words)}{after}, found {found}",
                           line=line, column=column, found=found, expected=words)


def _replay(text: str, stop_at: int | None) -> tuple[Token | None, set[str]]:
    """Re-run the parse up to (not including) position `stop_at`: the last token accepted
    there and the terminals the parser would accept next.

    Lark's own error state is taken after LALR has already reduced on the bad
    token, which can drop valid alternatives (after `#B` in `#A E:1 #B )` it
    would no longer offer 'E'), so ask the parser as it stood before it.
    """
    interactive = _parser().parse_interactive(text)
    previous = None
    try:
        for token in interactive.lexer_thread.lex(interactive.parser_state):
            if stop_at is not None and token.start_pos >= stop_at:
                break
            interactive.feed_token(token)
            previous = token
    except UnexpectedInput:
        pass  # the lexer stopped where the first parse did
    return previous, interactive.accepts()


def _describe(token: Token) -> str:
    if token.type == "TAG":
        return f"tag {_quoted(token)}"
    if token.type == "DURATION":
        return f"duration {_quoted(token)}"
    return _quoted(token)


def _quoted(text: str) -> str:
    if len(text) > _FOUND_MAX_CHARS:
        text = text[:_FOUND_MAX_CHARS] + "…"
    return f"'{text}'" if text.isprintable() else repr(str(text))


def _one_of(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
