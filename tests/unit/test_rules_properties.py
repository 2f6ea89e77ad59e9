"""Property tests: both evaluators against an oracle written straight from RULES.md.

The oracle (tests/support/oracle.py) enumerates every pair with itertools.product
and works on Python sets and ints; it shares no code with the evaluators, and the
trees it reads are built here as rules.ast nodes, rendered to text here and only
then parsed by rules.parser.
"""
from __future__ import annotations

import random

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.ast import And, Or, Rule, Tag, render
from rules.errors import RuleSyntaxError
from rules.evaluator import evaluate
from rules.parser import MAX_DURATION_MS, parse_rule
from rules.vectorised import evaluate_frame
from tests.support import oracle

TAGS = ["#A", "#B", "#C"]
SERIALS = ["S1", "S2", "S3", "S10"]
# Sized so the whole file takes about 25 s of CPU.
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(FAST, max_examples=80)

# --- trees -------------------------------------------------------------------
# Generated as syntax trees (rules.ast) directly, then rendered as text for the
# parser: the oracle (tests/support/oracle.py) never sees what the parser made.


# --- rules as text -----------------------------------------------------------

def seconds_text(draw, ms: int) -> str:
    seconds = ms // 1000
    forms = [str(seconds), f"{seconds}s"]
    forms += [f"{seconds // 60}m"] if seconds % 60 == 0 else []
    forms += [f"{seconds // 3600}h"] if seconds % 3600 == 0 else []
    return draw(st.sampled_from(forms))


@st.composite
def keyword(draw, *spellings: str) -> str:
    word = draw(st.sampled_from(spellings))
    return "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word)


SMALL_WINDOWS = st.integers(0, 10).map(lambda s: s * 1000)
SMALL_TTIS = st.none() | st.integers(0, 15).map(lambda s: s * 1000)


@st.composite
def trees(draw, windows=SMALL_WINDOWS, max_leaves=6):
    leaves = st.sampled_from(TAGS).map(Tag)

    def extend(children):
        return st.one_of(st.builds(Or, children, children),
                         st.builds(And, children, children, windows))
    return draw(st.recursive(leaves, extend, max_leaves=max_leaves))


@st.composite
def rule_text(draw, tree) -> str:
    """`tree` as rule text: every operand of an operator parenthesised, keywords in
    random spelling and case, random white space."""
    space = draw(st.sampled_from(["", " ", "  ", "\t", "\n"]))
    gap = space or " "  # "#A OU#B" parses, but "#AOU #B" is one tag

    def text(node, top=False):
        if isinstance(node, Tag):
            return node.name
        left, right = text(node.left), text(node.right)
        if isinstance(node, Or):
            operator = draw(keyword("OU", "OR"))
        else:
            operator = (f"{draw(keyword('E', 'AND'))}{space}:{space}"
                        f"{seconds_text(draw, node.window_ms)}")
        body = f"{left}{gap}{operator}{gap}{right}"
        return body if top else f"({space}{body}{space})"
    return text(tree, top=True)


@st.composite
def rules_with_text(draw, windows=SMALL_WINDOWS, ttis=SMALL_TTIS):
    tree = draw(trees(windows))
    tti_ms = draw(ttis)
    text = draw(rule_text(tree))
    if tti_ms is not None:
        text += f" {draw(keyword('tti'))}:{seconds_text(draw, tti_ms)}"
    return tree, tti_ms, text


# Instants on a seconds grid, some nudged by a millisecond: equal instants and
# windows met exactly or missed by 1 ms are the interesting cases.
instants = st.builds(lambda s, nudge: s * 1000 + nudge, st.integers(0, 40),
                     st.sampled_from([0, 0, 0, 1, -1]))
faults_lists = st.lists(
    st.tuples(st.sampled_from(SERIALS), st.sampled_from(TAGS), instants), max_size=25)


def simple_violations(rule, faults) -> set[tuple[str, int]]:
    found = set()
    for serial in {serial for serial, _, _ in faults}:
        mine = [(tag, t) for s, tag, t in faults if s == serial]
        result = evaluate(rule, [tag for tag, _ in mine], [t for _, t in mine])
        assert list(result) == sorted(set(result.tolist()))
        found |= {(serial, int(t)) for t in result}
    return found


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rule_id", "serial_number", "tag", "ts"]).astype(
        {"rule_id": "int64", "ts": "int64"})


def vectorised_violations(rules, rows) -> set[tuple[int, str, int]]:
    found = evaluate_frame(frame(rows), rules)
    as_tuples = list(found.itertuples(index=False, name=None))
    assert as_tuples == sorted(set(as_tuples))  # distinct and sorted
    return set(as_tuples)


# --- evaluators against the oracle -------------------------------------------

@FAST
@given(rules_with_text(), faults_lists)
def test_both_evaluators_agree_with_the_oracle(rule, faults):
    tree, tti_ms, text = rule
    parsed = parse_rule(text)
    expected = oracle.violations_by_serial(Rule(tree, tti_ms), faults)
    assert simple_violations(parsed, faults) == expected
    rows = [(3, serial, tag, t) for serial, tag, t in faults]
    assert vectorised_violations({3: parsed}, rows) == {(3, s, t) for s, t in expected}


@FEWER
@given(st.lists(rules_with_text(), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 5), st.sampled_from(SERIALS + ["S4", "S5", "S6"]),
                          st.sampled_from(TAGS), instants), max_size=80))
def test_many_rules_and_groups_at_once(rules, rows):
    parsed = {rule_id: parse_rule(text) for rule_id, (_, _, text) in enumerate(rules)}
    expected = set()
    for rule_id, (tree, tti_ms, _) in enumerate(rules):
        faults = [(serial, tag, t) for r, serial, tag, t in rows if r == rule_id]
        found = oracle.violations_by_serial(Rule(tree, tti_ms), faults)
        expected |= {(rule_id, s, t) for s, t in found}
    # Rows of rule ids with no rule (here 5 when fewer rules) are ignored.
    assert vectorised_violations(parsed, rows) == expected


@FEWER
@given(rules_with_text(ttis=st.integers(0, 3).map(lambda s: s * 1000)),
       st.lists(st.tuples(st.sampled_from(SERIALS), st.sampled_from(TAGS),
                          st.integers(0, 60).map(lambda s: s * 500)), min_size=30, max_size=120))
def test_long_tti_chains(rule, faults):
    """Many violations per serial: pointer doubling needs several rounds."""
    tree, tti_ms, text = rule
    expected = oracle.violations_by_serial(Rule(tree, tti_ms), faults)
    rows = [(0, serial, tag, t) for serial, tag, t in faults]
    assert vectorised_violations({0: parse_rule(text)}, rows) == {(0, s, t) for s, t in expected}


@FEWER
@given(rules_with_text(), faults_lists, st.randoms(use_true_random=False))
def test_row_order_never_matters(rule, faults, rng: random.Random):
    parsed = parse_rule(rule[2])
    rows = [(1, serial, tag, t) for serial, tag, t in faults]
    shuffled = rng.sample(rows, len(rows))
    assert vectorised_violations({1: parsed}, shuffled) == vectorised_violations({1: parsed}, rows)
    assert simple_violations(parsed, rng.sample(faults, len(faults))) == simple_violations(
        parsed, faults)


extreme_instants = st.one_of(st.integers(-2**63, 2**63 - 1),
                             st.sampled_from([-2**63, 2**63 - 1, -2**61, 2**61, 0]))
extreme_windows = st.one_of(st.integers(0, MAX_DURATION_MS // 1000).map(lambda s: s * 1000),
                            st.sampled_from([0, 1000, MAX_DURATION_MS // 1000 * 1000]))


@FAST
@given(rules_with_text(windows=extreme_windows, ttis=st.none() | extreme_windows),
       st.lists(st.tuples(st.sampled_from(SERIALS), st.sampled_from(TAGS), extreme_instants),
                max_size=12))
def test_extreme_instants_and_windows_do_not_overflow(rule, faults):
    tree, tti_ms, text = rule
    parsed = parse_rule(text)
    expected = oracle.violations_by_serial(Rule(tree, tti_ms), faults)
    assert simple_violations(parsed, faults) == expected
    rows = [(0, serial, tag, t) for serial, tag, t in faults]
    assert vectorised_violations({0: parsed}, rows) == {(0, s, t) for s, t in expected}


# --- parser ------------------------------------------------------------------

@FAST
@given(rules_with_text())
def test_canonical_rendering_round_trips(rule):
    parsed = parse_rule(rule[2])
    again = parse_rule(render(parsed))
    assert (again.expr, again.tti_ms) == (parsed.expr, parsed.tti_ms)


def assert_parses_or_is_refused_with_a_column(text: str):
    try:
        rule = parse_rule(text)
    except RuleSyntaxError as error:
        assert "column" in str(error)
        assert error.column >= 1 and error.line >= 1
    else:
        again = parse_rule(render(rule))
        assert (again.expr, again.tti_ms) == (rule.expr, rule.tti_ms)


@settings(max_examples=600, deadline=None)
@given(st.text())
def test_any_text_parses_or_is_refused(text):
    assert_parses_or_is_refused_with_a_column(text)


TOKENS = ["#A", "#B", "#1.2.3", "#", "#A.", ".", "OU", "or", "E", "e", "AND", "and", ":", "(",
          ")", "tti", "TTI", "0", "5", "90s", "2m", "1h", "3d", "1m30s", "5M", "-5", "x", "é",
          "99999999999999999999999", "\x00", "\n", "\t", "🙂"]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=14), st.sampled_from(["", " ", "  "]))
def test_token_soups_parse_or_are_refused(tokens, separator):
    assert_parses_or_is_refused_with_a_column(separator.join(tokens))
