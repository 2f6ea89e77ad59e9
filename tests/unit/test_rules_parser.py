"""Parsing: structure, keywords, durations, and the wording and columns of refusals."""
import pickle

import pytest

from rules.ast import And, Or, Rule, Tag, render
from rules.errors import RuleSyntaxError
from rules.parser import MAX_DEPTH, MAX_DURATION_MS, parse_rule

A, B, C, D = Tag("#A"), Tag("#B"), Tag("#C"), Tag("#D")


def expr(text):
    return parse_rule(text).expr


def refusal(text) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_rule(text)
    return raised.value


# --- structure ---------------------------------------------------------------

@pytest.mark.parametrize("text, tree", [
    ("#A OU #B E:10 #C", Or(A, And(B, C, 10_000))),
    ("#A E:10 #B OU #C", Or(And(A, B, 10_000), C)),
    ("#A OU #B OU #C", Or(Or(A, B), C)),
    ("#A E:10 #B E:20 #C", And(And(A, B, 10_000), C, 20_000)),
    ("#A OU (#B OU #C)", Or(A, Or(B, C))),
    ("#A E:10 (#B E:20 #C)", And(A, And(B, C, 20_000), 10_000)),
    ("(#A OU #B) E:10 #C", And(Or(A, B), C, 10_000)),
    ("((#A))", A),
    ("(#A OU #B) E:1 (#C OU #D) OU #A E:2 #B",
     Or(And(Or(A, B), Or(C, D), 1_000), And(A, B, 2_000))),
])
def test_precedence_and_associativity(text, tree):
    assert expr(text) == tree


@pytest.mark.parametrize("text", ["#A ou #B", "#A Ou #B", "#A or #B", "#A oR #B", "#A OR #B"])
def test_or_keywords_are_case_insensitive(text):
    assert expr(text) == Or(A, B)


@pytest.mark.parametrize("text", ["#A e:2m #B", "#A E:2m #B", "#A and:2m #B", "#A AnD:2m #B"])
def test_and_keywords_are_case_insensitive(text):
    assert expr(text) == And(A, B, 120_000)


@pytest.mark.parametrize("text", ["#A tti:5", "#A TTI:5", "#A Tti:5"])
def test_tti_keyword_is_case_insensitive(text):
    assert parse_rule(text).tti_ms == 5_000


@pytest.mark.parametrize("duration, ms", [
    ("0", 0), ("90", 90_000), ("90s", 90_000), ("2m", 120_000), ("1h", 3_600_000),
    ("3d", 259_200_000), ("007", 7_000),
])
def test_durations(duration, ms):
    assert expr(f"#A E:{duration} #B").window_ms == ms
    assert parse_rule(f"#A tti:{duration}").tti_ms == ms


@pytest.mark.parametrize("text", [
    "#A E : 10 #B tti : 3", "#A E:10 #B tti:3", "#A\tE\t:\t10\n#B\n tti :3",
    "  #A E:10 #B tti:3  ", "#A E:10#B tti:3", "(#A)E:10(#B)tti:3",
])
def test_white_space_is_free_between_tokens(text):
    rule = parse_rule(text)
    assert (rule.expr, rule.tti_ms) == (And(A, B, 10_000), 3_000)


def test_tags():
    assert expr("#1.123.456.789") == Tag("#1.123.456.789")
    assert expr("#pump_1.x") == Tag("#pump_1.x")
    assert expr("#a") != expr("#A")  # tags are case-sensitive
    rule = parse_rule("(#A OU #b) E:1 #1.2 OU #A tti:1")
    assert rule.tags == frozenset({"#A", "#b", "#1.2"})
    assert rule.source == "(#A OU #b) E:1 #1.2 OU #A tti:1"


def test_tti_applies_to_the_whole_rule():
    rule = parse_rule("#A OU #B E:1 #C tti:2h")
    assert rule == Rule(Or(A, And(B, C, 1_000)), 7_200_000, "#A OU #B E:1 #C tti:2h")
    assert parse_rule("#A").tti_ms is None


@pytest.mark.parametrize("text", [
    "#A", "#A OU #B E:1m #C tti:1h", "(#A OU #B) E:90s (#C E:1d #D)", "#A OU (#B OU #C)",
    "#A E:1 (#B E:2 #C)", "(#A OU #B) E:0 #C",
])
def test_render_round_trips(text):
    rule = parse_rule(text)
    assert parse_rule(render(rule)).expr == rule.expr
    assert parse_rule(render(rule)).tti_ms == rule.tti_ms


def test_render_is_canonical():
    assert render(parse_rule("#A or (#B and:120 #C) TTI:3600")) == "#A OU #B E:2m #C tti:1h"
    assert render(parse_rule("#A E:0 #B tti:90")) == "#A E:0 #B tti:90s"


# --- refusals ----------------------------------------------------------------

def test_the_contract_example():
    error = refusal("#1.2.3.4 OU")
    assert str(error) == "column 12: expected a tag or '(' after 'OU', found end of rule"
    assert (error.line, error.column) == (1, 12)
    assert error.found == "end of rule"
    assert error.expected == ["a tag", "'('"]


@pytest.mark.parametrize("text, column, found, expected, message", [
    ("", 1, "end of rule", ["a tag", "'('"],
     "column 1: expected a tag or '(', found end of rule"),
    ("   ", 1, "end of rule", ["a tag", "'('"],
     "column 1: expected a tag or '(', found end of rule"),
    ("#A B", 4, "'B'", ["'OU'/'OR'", "'E'/'AND'", "'tti'", "end of rule"],
     "column 4: expected 'OU'/'OR', 'E'/'AND', 'tti' or end of rule after tag '#A', found 'B'"),
    ("#A #B", 4, "tag '#B'", ["'OU'/'OR'", "'E'/'AND'", "'tti'", "end of rule"],
     "column 4: expected 'OU'/'OR', 'E'/'AND', 'tti' or end of rule after tag '#A', "
     "found tag '#B'"),
    ("# OU #A", 1, "'#'", ["a tag", "'('"], "column 1: expected a tag or '(', found '#'"),
    ("#A E #B", 6, "tag '#B'", ["':'"], "column 6: expected ':' after 'E', found tag '#B'"),
    ("#A E:-5 #B", 6, "'-5'", ["a duration"],
     "column 6: expected a duration after ':', found '-5'"),
    ("#A E:1m30s #B", 8, "duration '30s'", ["a tag", "'('"],
     "column 8: expected a tag or '(' after duration '1m', found duration '30s'"),
    ("#A E:5M #B", 7, "'M'", ["a tag", "'('"],
     "column 7: expected a tag or '(' after duration '5', found 'M'"),
    ("(#A E:10 #B", 12, "end of rule", ["'OU'/'OR'", "'E'/'AND'", "')'"],
     "column 12: expected 'OU'/'OR', 'E'/'AND' or ')' after tag '#B', found end of rule"),
    ("#A tti:5 OU #B", 10, "'OU'", ["end of rule"],
     "column 10: expected end of rule after duration '5', found 'OU'"),
    ("#A tti:5 tti:5", 10, "'tti'", ["end of rule"],
     "column 10: expected end of rule after duration '5', found 'tti'"),
    ("(#A tti:5)", 5, "'tti'", ["'OU'/'OR'", "'E'/'AND'", "')'"],
     "column 5: expected 'OU'/'OR', 'E'/'AND' or ')' after tag '#A', found 'tti'"),
    ("#A tti", 7, "end of rule", ["':'"], "column 7: expected ':' after 'tti', found end of rule"),
    ("#A OU ) #B", 7, "')'", ["a tag", "'('"],
     "column 7: expected a tag or '(' after 'OU', found ')'"),
    ("#A.", 3, "'.'", ["'OU'/'OR'", "'E'/'AND'", "'tti'", "end of rule"],
     "column 3: expected 'OU'/'OR', 'E'/'AND', 'tti' or end of rule after tag '#A', found '.'"),
    ("#A OU \x00", 7, "'\\x00'", ["a tag", "'('"],
     "column 7: expected a tag or '(' after 'OU', found '\\x00'"),
])
def test_refusal_wording(text, column, found, expected, message):
    error = refusal(text)
    assert (error.line, error.column, error.found, error.expected) == (1, column, found, expected)
    assert str(error) == message


def test_expected_is_what_the_parser_accepted_before_the_bad_token():
    # LALR reduces '#B' before noticing ')' is wrong; 'E'/'AND' must still be offered.
    assert "'E'/'AND'" in refusal("#A E:1 #B )").expected


def test_refusal_on_a_later_line():
    error = refusal("#A OU\n  #B E")
    assert (error.line, error.column) == (2, 7)
    assert str(error) == "line 2, column 7: expected ':' after 'E', found end of rule"


def test_end_of_rule_is_just_after_the_last_token():
    assert refusal("#A OU   ").column == 6


def test_long_found_text_is_shortened():
    error = refusal("#A " + "x" * 100)
    assert error.found == "'" + "x" * 20 + "…'"


def test_duration_limits():
    biggest_seconds = MAX_DURATION_MS // 1000
    assert expr(f"#A E:{biggest_seconds} #B").window_ms == biggest_seconds * 1000
    for too_big in [f"{biggest_seconds + 1}", f"{biggest_seconds}d", "9" * 5000]:
        error = refusal(f"#A E:{too_big} #B")
        assert error.column == 6
        assert "too large" in str(error)


def test_nesting_limit():
    assert parse_rule(" OU ".join(["#A"] * (MAX_DEPTH + 1)))
    for text in [" OU ".join(["#A"] * (MAX_DEPTH + 2)), " OU ".join(["#A"] * 10_000),
                 "(#A E:1 " * 5_000 + "#B" + ")" * 5_000]:
        error = refusal(text)
        assert str(error) == f"column 1: the rule nests more than {MAX_DEPTH} operators"


def test_deep_parentheses_alone_are_fine():
    assert expr("(" * 10_000 + "#A" + ")" * 10_000) == A


def test_refusal_is_a_value_error_and_pickles():
    error = refusal("#A OU")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.line, copy.column, copy.found, copy.expected) == (
        str(error), error.line, error.column, error.found, error.expected)
