"""Benchmark: the vectorised rule evaluator against the simple one called once per group.

    python -m bench.evaluator [--rows 1000000] [--rules 500] [--seed 7]

Synthetic input as the daily job's join produces it: one row per (rule, fault)
with rule_id, serial_number, tag, ts; one day of faults over 20,000 serials of
10 models. Each rule concerns one model; a few machines fault much more often
than the rest, so most (rule, serial) groups are small and some are large. The
simple evaluator pays a fixed cost per group, so the ratio grows as groups
shrink: the mean group size is printed with the figures.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from rules.ast import And, Expr, Or, Rule, Tag, render
from rules.evaluator import evaluate
from rules.parser import parse_rule
from rules.vectorised import evaluate_frame

SERIALS = 20_000
MODELS = 10  # serials n, n + MODELS, n + 2 * MODELS, ... are of model n
DAY_MS = 86_400_000
START_MS = 1_479_254_400_000  # 2016-11-16T00:00:00Z
SIMPLE_SAMPLE_ROWS = 100_000  # the simple evaluator is timed on this many rows


def make_rules(count: int, rng: np.random.Generator) -> dict[int, Rule]:
    """Rules of mixed shapes, each rendered to text and parsed back."""
    rules = {}
    for rule_id in range(count):
        tags = [Tag(f"#{rng.integers(1, 3)}.{rng.integers(100, 200)}.{rng.integers(100, 1000)}."
                    f"{rng.integers(0, 32)}") for _ in range(4)]
        expr = _shape(rule_id % 5, tags, rng)
        tti_ms = int(rng.choice([60, 600, 3600])) * 1000 if rng.random() < 0.5 else None
        rules[rule_id] = parse_rule(render(Rule(expr, tti_ms)))
    return rules


def _shape(kind: int, tags: list[Tag], rng: np.random.Generator) -> Expr:
    def window() -> int:
        return int(rng.choice([30, 60, 300, 900, 3600])) * 1000

    a, b, c, d = tags
    if kind == 0:
        return a
    if kind == 1:
        return Or(Or(a, b), c)
    if kind == 2:
        return And(a, b, window())
    if kind == 3:
        return And(Or(a, b), And(c, d, window()), window())
    return Or(And(And(a, b, window()), c, window()), d)


def make_faults(rows: int, rules: dict[int, Rule], rng: np.random.Generator) -> pd.DataFrame:
    """Rows in no particular order; each fault's tag is one its rule names."""
    rule_ids = rng.integers(0, len(rules), rows)
    model_of_rule = rng.integers(0, MODELS, len(rules))
    # Squaring a uniform draw skews faults towards a few machines of the model.
    nth_of_model = (rng.random(rows) ** 2 * (SERIALS // MODELS)).astype(np.int64)
    serials = model_of_rule[rule_ids] + MODELS * nth_of_model
    tag_table = np.empty((len(rules), 4), dtype=object)
    for rule_id, rule in rules.items():
        names = sorted(rule.tags)
        tag_table[rule_id] = [names[i % len(names)] for i in range(4)]
    tags = tag_table[rule_ids, rng.integers(0, 4, rows)]
    serial_names = np.array([f"JAP{n:05d}" for n in range(SERIALS)], dtype=object)
    return pd.DataFrame({
        "rule_id": rule_ids.astype(np.int64),
        "serial_number": serial_names[serials],
        "tag": tags,
        "ts": START_MS + rng.integers(0, DAY_MS, rows),
    })


def _cpu_seconds(work, repeats: int = 1) -> float:
    """Best CPU time of `repeats` runs: the figure for one core, whatever else the machine runs
    (numpy here is single-threaded)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def _time_simple(faults: pd.DataFrame, rules: dict[int, Rule],
                 vectorised: pd.DataFrame) -> tuple[float, int]:
    """CPU seconds for the simple evaluator over the groups of the first rules,
    about SIMPLE_SAMPLE_ROWS rows (grouping not timed), and that row count.
    Checks on the way that both evaluators agree on those groups."""
    rows_per_rule = faults["rule_id"].value_counts().sort_index()
    sampled_rules = rows_per_rule.index[: int(np.searchsorted(
        rows_per_rule.cumsum().to_numpy(), SIMPLE_SAMPLE_ROWS)) + 1]
    sample = faults[faults["rule_id"].isin(sampled_rules)].sort_values(
        ["rule_id", "serial_number", "ts"])
    rule_ids, serials = sample["rule_id"].to_numpy(), sample["serial_number"].to_numpy()
    tags, ts = sample["tag"].to_numpy(), sample["ts"].to_numpy()
    starts = np.flatnonzero((rule_ids[1:] != rule_ids[:-1]) | (serials[1:] != serials[:-1])) + 1
    groups = [(rule_ids[begin], serials[begin], rules[rule_ids[begin]], tags[begin:end],
               ts[begin:end])
              for begin, end in zip([0, *starts], [*starts, len(sample)], strict=True)]

    def evaluate_each_group():
        for _, _, rule, group_tags, group_ts in groups:
            evaluate(rule, group_tags, group_ts)

    seconds = _cpu_seconds(evaluate_each_group)
    simple = {(rule_id, serial, int(t)) for rule_id, serial, rule, group_tags, group_ts in groups
              for t in evaluate(rule, group_tags, group_ts)}
    mine = vectorised[vectorised["rule_id"].isin(sampled_rules)]
    assert simple == set(mine.itertuples(index=False, name=None)), "the evaluators disagree"
    return seconds, len(sample)


def run(rows: int = 1_000_000, rules: int = 500, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    rule_table = make_rules(rules, rng)
    faults = make_faults(rows, rule_table, rng)
    shuffled_s = _cpu_seconds(lambda: evaluate_frame(faults, rule_table), repeats=3)
    presorted = faults.sort_values(["rule_id", "serial_number", "ts"], ignore_index=True)
    presorted_s = _cpu_seconds(lambda: evaluate_frame(presorted, rule_table), repeats=3)
    simple_s, simple_rows = _time_simple(faults, rule_table, evaluate_frame(faults, rule_table))
    vectorised_rows_s = rows / shuffled_s
    simple_rows_s = simple_rows / simple_s
    return {
        "rows": rows,
        "rules": rules,
        "groups": int(faults.groupby(["rule_id", "serial_number"]).ngroups),
        "vectorised_rows_s": vectorised_rows_s,
        "vectorised_presorted_rows_s": rows / presorted_s,
        "simple_rows_s": simple_rows_s,
        "simple_sampled_rows": simple_rows,
        "ratio": vectorised_rows_s / simple_rows_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = run(args.rows, args.rules, args.seed)
    print("rows/s by CPU time of this process (best of 3 for the vectorised evaluator)")
    print(f"{result['rows']:,} rows, {result['rules']} rules, "
          f"{result['groups']:,} (rule, serial) groups "
          f"of {result['rows'] / result['groups']:.1f} rows on average")
    print(f"vectorised, rows in any order: {result['vectorised_rows_s']:>12,.0f} rows/s")
    print(f"vectorised, rows pre-sorted:   {result['vectorised_presorted_rows_s']:>12,.0f} rows/s")
    print(f"simple, one call per group:    {result['simple_rows_s']:>12,.0f} rows/s "
          f"(timed on the {result['simple_sampled_rows']:,} rows of the first rules, "
          f"extrapolated per row)")
    print(f"ratio (any order / simple):    {result['ratio']:>12.1f}x")


if __name__ == "__main__":
    main()
