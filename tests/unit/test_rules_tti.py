"""tti continued from stored violations, against a direct greedy loop."""

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.tti import apply_tti
from tests.support import oracle


def frame(rows):
    return pd.DataFrame(rows, columns=["rule_id", "serial_number", "ts"]).astype(
        {"rule_id": "int64", "ts": "int64"})


def test_thesis_example_without_anchors_is_plain_greedy():
    out = apply_tti(frame([(1, "S", t) for t in (0, 100_000, 150_000, 200_000)]),
                    frame([]), {1: 120_000})
    assert out["ts"].tolist() == [0, 150_000]


def test_next_day_continues_from_the_last_stored_violation():
    # day 1 kept 150 s; day 2 re-finds 150 s and finds 200 s and 300 s.
    out = apply_tti(frame([(1, "S", t) for t in (150_000, 200_000, 300_000)]),
                    frame([(1, "S", 0), (1, "S", 150_000)]), {1: 120_000})
    assert out["ts"].tolist() == [300_000]


def test_rules_without_tti_and_other_serials_pass_unchanged():
    out = apply_tti(frame([(1, "S", 5), (2, "S", 5), (2, "S", 6), (1, "T", 6)]),
                    frame([(1, "S", 0)]), {1: 10})
    assert sorted(map(tuple, out.to_numpy().tolist())) == [(1, "T", 6), (2, "S", 5), (2, "S", 6)]


instants = st.lists(st.integers(0, 60), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["S1", "S2", "S3"]), st.tuples(instants, instants),
                       max_size=3),
       st.integers(0, 15))
def test_matches_the_greedy_loop_and_keeps_spacing(groups, tti):
    candidates = frame([(7, s, t) for s, (c, _) in groups.items() for t in set(c)])
    anchors = frame([(7, s, t) for s, (_, a) in groups.items() for t in set(a)])
    out = apply_tti(candidates, anchors, {7: tti})
    for serial, (c, a) in groups.items():
        got = out[out["serial_number"] == serial]["ts"].tolist()
        assert got == oracle.greedy_kept(c, tti, anchors=set(a))
        # a new violation is never closer than tti to a stored or another new one
        # (candidates equal to an anchor are not re-kept)
        for instant in got:
            others = set(a) | (set(got) - {instant})
            assert all(abs(instant - other) >= tti for other in others)


@settings(max_examples=200, deadline=None)
@given(instants, st.integers(1, 15), st.data())
def test_rerun_with_part_of_the_result_stored_gives_the_same_result(candidates, tti, data):
    clean = oracle.greedy_kept(candidates, tti)
    stored = data.draw(st.sets(st.sampled_from(clean))) if clean else set()
    rerun = apply_tti(frame([(1, "S", t) for t in set(candidates)]),
                      frame([(1, "S", t) for t in stored]), {1: tti})
    assert sorted(set(rerun["ts"].tolist()) | stored) == clean


# Rules 1 and 2 share a tti (one pass covers both), rule 3 has its own, rule 4 none.
RULE_TTIS = {1: 10, 2: 10, 3: 25}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(st.sampled_from([1, 2, 3, 4]), st.sampled_from(["S1", "S2"])),
                       st.tuples(instants, instants), max_size=8))
def test_many_rules_and_serials_at_once_match_the_loop_per_group(groups):
    candidates = frame([(rule, s, t) for (rule, s), (c, _) in groups.items() for t in set(c)])
    anchors = frame([(rule, s, t) for (rule, s), (_, a) in groups.items() for t in set(a)])
    out = apply_tti(candidates, anchors, RULE_TTIS)
    for (rule, serial), (c, a) in groups.items():
        mine = out[(out["rule_id"] == rule) & (out["serial_number"] == serial)]
        expected = (oracle.greedy_kept(c, RULE_TTIS[rule], anchors=set(a)) if rule in RULE_TTIS
                    else sorted(set(c)))
        assert mine["ts"].tolist() == expected
