"""The realistic day of PD has the shape issue 16 asks for (figures are of seed 7)."""
import numpy as np

from bench.realistic import DAY_MS, MODELS, DayShape, codes, fleet_day, realistic_rules
from rules.parser import parse_rule

SHAPE = DayShape(faults=60_000)
DAY_START_MS = 1_479_427_200_000  # 2016-11-18T00:00:00Z


def test_every_fault_is_received_on_the_day_and_a_few_happened_days_before():
    faults = fleet_day(SHAPE, 7)
    assert len(faults) == 60_000
    assert faults["received_at"].between(DAY_START_MS, DAY_START_MS + DAY_MS - 1).all()
    assert (np.diff(faults["received_at"].to_numpy()) >= 0).all()
    earlier = (faults["ts"] < DAY_START_MS).mean()
    assert 0.05 < earlier < 0.09
    assert (faults["ts"] <= faults["received_at"]).all()


def test_machines_of_four_models_and_a_few_very_chatty_codes_with_a_long_tail():
    faults = fleet_day(SHAPE, 7)
    assert sorted(faults["model"].unique()) == sorted(MODELS)
    assert 1_900 < faults["serial_number"].nunique() <= 2_000
    per_code = faults.groupby(["model", "tag"]).size().sort_values(ascending=False)
    top_share = per_code.iloc[:4 * 5].sum() / len(faults)  # the 5 chattiest codes of each model
    assert 0.25 < top_share < 0.5
    assert (per_code <= 3).sum() > 1_000  # the tail: codes seen a few times a day


def test_four_hundred_rules_most_with_tti_each_over_its_models_codes():
    rules = realistic_rules(DayShape(), 7)
    assert len(rules) == 400
    parsed = [parse_rule(expression) for _, expression in rules]
    assert sum(rule.tti_ms is not None for rule in parsed) == 360
    vocabulary = dict(zip(MODELS, map(set, codes(DayShape())), strict=True))
    assert [model for model, _ in rules] == [m for m in MODELS for _ in range(100)]
    for (model, _), rule in zip(rules, parsed, strict=True):
        assert set(rule.tags) <= vocabulary[model]
