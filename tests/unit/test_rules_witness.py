"""Witnesses: the faults the vectorised evaluator names as each violation's
evidence yield that violation's instant, checked against the oracle of RULES.md;
the same on every run; and `explain` shows the windows they satisfy."""
from __future__ import annotations

import random

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from rules.ast import Rule
from rules.parser import parse_rule
from rules.vectorised import evaluate_frame
from rules.witness import explain, witness_faults
from tests.support import oracle
from tests.unit.test_rules_properties import (
    FAST,
    FEWER,
    SERIALS,
    faults_lists,
    frame,
    rules_with_text,
)


def witnessed(rules, rows) -> list[tuple[int, str, int, str]]:
    found = evaluate_frame(frame(rows), rules, witness=True)
    return list(found[["rule_id", "serial_number", "ts", "evidence"]].itertuples(
        index=False, name=None))


@FAST
@given(rules_with_text(), faults_lists)
def test_a_witness_alone_yields_its_violation(rule, faults):
    """Over only its witness faults, the rule's expression yields the violation's
    instant, and every witness fault is one of the serial's faults (no earlier
    than a day, no later than the instant). tti is left out: it filters what the
    expression yields, and a witness explains the expression."""
    tree, tti_ms, text = rule
    rows = [(3, serial, tag, t) for serial, tag, t in faults]
    found = witnessed({3: parse_rule(text)}, rows)
    plain = evaluate_frame(frame(rows), {3: parse_rule(text)})
    assert [row[:3] for row in found] == list(plain.itertuples(index=False, name=None))
    for _, serial, instant, evidence in found:
        witness = witness_faults(evidence)
        assert instant in oracle.instants(tree, witness)
        assert set(witness) <= {(tag, t) for s, tag, t in faults if s == serial}
        assert max(t for _, t in witness) == instant
        assert explain(Rule(tree, tti_ms), witness, instant) is not None


@FEWER
@given(st.lists(rules_with_text(), min_size=1, max_size=4),
       st.lists(st.tuples(st.integers(0, 3), st.sampled_from(SERIALS), st.sampled_from(
           ["#A", "#B", "#C"]), st.integers(0, 40).map(lambda s: s * 1000)), max_size=60),
       st.randoms(use_true_random=False))
def test_the_witness_does_not_depend_on_row_order(rules, rows, rng: random.Random):
    parsed = {rule_id: parse_rule(text) for rule_id, (_, _, text) in enumerate(rules)}
    assert witnessed(parsed, rng.sample(rows, len(rows))) == witnessed(parsed, rows)


def test_the_earliest_partner_in_the_window_is_the_witness():
    rows = [(1, "S1", "#A", 0), (1, "S1", "#A", 5_000), (1, "S1", "#B", 8_000),
            (1, "S1", "#C", 8_000), (1, "S1", "#B", 8_000)]
    found = witnessed({1: parse_rule("#A E:10 (#B OU #C)")}, rows)
    # 8 s: #A at 0 s and at 5 s are both within 10 s; the earliest is the witness,
    # and at 8 s #B comes before #C by name.
    assert found == [(1, "S1", 8_000, '[["#A",0],["#B",8000]]')]


def test_or_names_the_side_that_produced_the_instant_and_prefers_the_left():
    rows = [(1, "S1", "#A", 0), (1, "S1", "#B", 1_000), (1, "S1", "#C", 1_000),
            (1, "S1", "#D", 4_000)]
    found = witnessed({1: parse_rule("(#A E:2 #B) OU (#C E:5 #D) OU #C")}, rows)
    assert found == [(1, "S1", 1_000, '[["#A",0],["#B",1000]]'),
                     (1, "S1", 4_000, '[["#C",1000],["#D",4000]]')]


def test_tti_keeps_the_witnesses_of_the_violations_it_keeps():
    rows = [(2, "S9", "#A", t) for t in (0, 100_000, 150_000, 200_000)]
    found = witnessed({2: parse_rule("#A tti:120")}, rows)
    assert found == [(2, "S9", 0, '[["#A",0]]'), (2, "S9", 150_000, '[["#A",150000]]')]


def test_instants_beyond_keys_still_get_a_witness_group_by_group():
    """So many wide groups that one rule's keys overflow: the evaluator goes
    group by group, and each group alone still fits in keys."""
    rows = []
    for index in range(8):
        rows += [(1, f"S{index}", "#A", -2**58), (1, f"S{index}", "#B", 2**58 - 1)]
    found = witnessed({1: parse_rule("#A OU #B")}, rows)
    assert found[:2] == [(1, "S0", -2**58, f'[["#A",{-2**58}]]'),
                         (1, "S0", 2**58 - 1, f'[["#B",{2**58 - 1}]]')]
    assert len(found) == 16


def test_explain_shows_each_window_the_witness_satisfies():
    rule = parse_rule("#1.168.861.4 E:1h #1.174.456.29 tti:1d")
    faults = [("#1.168.861.4", 1_479_300_000_000), ("#1.174.456.29", 1_479_301_800_000)]
    steps = explain(rule, faults, 1_479_301_800_000)
    assert [(step.text, step.detail) for step in steps] == [
        ("#1.168.861.4 E:1h #1.174.456.29",
         "#1.168.861.4 at 2016-11-16T12:40:00.000Z, #1.174.456.29 at 2016-11-16T13:10:00.000Z: "
         "30m apart, within 1h")]
    assert explain(rule, faults, 1_479_300_000_000) is None


def test_explain_gives_distances_in_days_hours_minutes_and_seconds():
    rule = parse_rule("#A E:6h #B")
    steps = explain(rule, [("#A", 9_326_832), ("#B", 0)], 9_326_832)
    assert steps[0].detail.endswith(": 2h 35m 26.832s apart, within 6h")
    steps = explain(parse_rule("#A E:2d #B"), [("#A", 0), ("#B", 90_061_000)], 90_061_000)
    assert steps[0].detail.endswith(": 1d 1h 1m 1s apart, within 2d")


def test_explain_names_the_side_of_an_or():
    rule = parse_rule("(#A E:20 #B) OU (#C E:30 #D)")
    steps = explain(rule, [("#C", 5_000), ("#D", 30_000)], 30_000)
    assert [(step.text, step.detail) for step in steps] == [
        ("#A E:20s #B OU #C E:30s #D", "right side: #C E:30s #D"),
        ("#C E:30s #D", "#C at 1970-01-01T00:00:05.000Z, #D at 1970-01-01T00:00:30.000Z: "
                        "25s apart, within 30s")]


def test_an_empty_frame_has_an_evidence_column():
    empty = pd.DataFrame({"rule_id": pd.Series(dtype="int64"), "serial_number": [],
                          "tag": [], "ts": pd.Series(dtype="int64")})
    assert list(evaluate_frame(empty, {1: parse_rule("#A")}, witness=True).columns) == [
        "rule_id", "serial_number", "ts", "evidence"]
