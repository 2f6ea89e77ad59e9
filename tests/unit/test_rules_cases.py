"""Every worked case of tests/rule-cases.json, through both evaluators."""
import json
from pathlib import Path

import pandas as pd
import pytest

from rules.errors import RuleSyntaxError
from rules.evaluator import evaluate
from rules.parser import parse_rule
from rules.timefmt import format_iso_ms, parse_iso_ms
from rules.vectorised import evaluate_frame

CASES_PATH = Path(__file__).parents[1] / "rule-cases.json"
SHARED_CASES_PATH = Path(__file__).parents[3] / "shared" / "rule-cases.json"
CASES = json.loads(CASES_PATH.read_text())
VALID = [case for case in CASES if not case.get("error")]
INVALID = [case for case in CASES if case.get("error")]


@pytest.mark.parametrize("case", VALID, ids=[case["name"] for case in VALID])
def test_simple_evaluator(case):
    rule = parse_rule(case["rule"])
    found = []
    for serial in sorted({serial for serial, _, _ in case["faults"]}):
        faults = [(tag, parse_iso_ms(ts)) for s, tag, ts in case["faults"] if s == serial]
        instants = evaluate(rule, [tag for tag, _ in faults], [ts for _, ts in faults])
        assert list(instants) == sorted(set(instants))
        found += [[serial, format_iso_ms(t)] for t in instants]
    assert found == sorted(case["violations"])


@pytest.mark.parametrize("case", VALID, ids=[case["name"] for case in VALID])
def test_vectorised_evaluator(case):
    faults = pd.DataFrame(case["faults"], columns=["serial_number", "tag", "timestamp"])
    faults["ts"] = faults.pop("timestamp").map(parse_iso_ms).astype("int64")
    faults["rule_id"] = 7
    found = evaluate_frame(faults, {7: parse_rule(case["rule"])})
    assert (found["rule_id"] == 7).all()
    pairs = zip(found["serial_number"], found["ts"], strict=True)
    assert [[serial, format_iso_ms(t)] for serial, t in pairs] == sorted(case["violations"])


@pytest.mark.parametrize("case", INVALID, ids=[case["name"] for case in INVALID])
def test_refused(case):
    with pytest.raises(RuleSyntaxError) as refusal:
        parse_rule(case["rule"])
    assert refusal.value.column >= 1
    assert str(refusal.value).startswith(f"column {refusal.value.column}: ")


def test_cases_are_the_shared_ones():
    if not SHARED_CASES_PATH.exists():
        pytest.skip(f"no {SHARED_CASES_PATH}")
    assert json.loads(CASES_PATH.read_text()) == json.loads(SHARED_CASES_PATH.read_text())
