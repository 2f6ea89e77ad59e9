"""evaluate_frame's contract at its edges (its results are checked in depth in
test_rules_properties.py)."""
import numpy as np
import pandas as pd

from rules.parser import parse_rule
from rules.vectorised import evaluate_frame

COLUMNS = ["rule_id", "serial_number", "ts"]


def faults(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["rule_id", "serial_number", "tag", "ts"])


def test_empty_input_gives_typed_empty_output():
    found = evaluate_frame(faults([]).astype({"rule_id": "int64", "ts": "int64"}),
                           {1: parse_rule("#A")})
    assert list(found.columns) == COLUMNS
    assert found.empty
    assert (found["rule_id"].dtype, found["ts"].dtype) == (np.int64, np.int64)


def test_rows_of_unknown_rules_are_ignored():
    found = evaluate_frame(faults([(1, "S", "#A", 5), (2, "S", "#A", 6)]), {1: parse_rule("#A")})
    assert found.values.tolist() == [[1, "S", 5]]


def test_any_rule_ids_and_extra_columns():
    rows = faults([(-3, "S", "#A", 5), (2**40, "S", "#A", 6)]).assign(extra="x")
    found = evaluate_frame(rows, {-3: parse_rule("#A"), 2**40: parse_rule("#A OU #B")})
    assert found.values.tolist() == [[-3, "S", 5], [2**40, "S", 6]]


def test_nulls_match_nothing_and_merge_with_nothing():
    rows = faults([(1, None, "#A", 5), (1, "S", None, 6), (1, "S", "#A", 7), (1, None, "#B", 8)])
    found = evaluate_frame(rows, {1: parse_rule("#A E:1 #B OU #A")})
    assert found.values.tolist() == [[1, "S", 7], [1, None, 5], [1, None, 8]]


def test_output_is_sorted_by_rule_serial_and_time():
    rows = faults([(2, "B", "#A", 1), (1, "B", "#A", 3), (1, "A", "#A", 9), (1, "B", "#A", 2),
                   (2, "A", "#A", 4)])
    found = evaluate_frame(rows, {1: parse_rule("#A"), 2: parse_rule("#A")})
    assert found.values.tolist() == [[1, "A", 9], [1, "B", 2], [1, "B", 3], [2, "A", 4],
                                     [2, "B", 1]]
