"""The thesis-style baseline counts what RULES.md says, on faults small enough to count by hand."""
from datetime import UTC, datetime, timedelta

from bench.baselines.thesis import thesis_style_violations

T0 = datetime(2016, 11, 16, 13, 0, tzinfo=UTC)

RULES = [
    (1, "JAP", "#1.100.200.3 tti:120"),
    (2, "JAP", "#1.100.200.3 E:60 #2.100.300.4"),
    (3, "KOM", "#1.100.200.3 OU #1.500.600.7"),
]

FAULTS = [  # (serial, model, tag, seconds after T0)
    ("JAP001", "JAP", "#1.100.200.3", 0),
    ("JAP001", "JAP", "#1.100.200.3", 100),
    ("JAP001", "JAP", "#1.100.200.3", 150),
    ("JAP001", "JAP", "#1.100.200.3", 200),
    ("JAP001", "JAP", "#2.100.300.4", 130),
    ("JAP001", "JAP", "#1.500.600.7", 50),  # rule 3 is for KOM, not JAP
    ("JAP002", "JAP", "#1.100.200.3", 0),
    ("JAP002", "JAP", "#9.9.9.9", 10),  # no rule names it
    ("KOM001", "KOM", "#1.100.200.3", 10),
    ("KOM001", "KOM", "#1.500.600.7", 10),
    ("KOM001", "KOM", "#1.500.600.7", 20),
    ("KOM001", "KOM", "#1.500.600.7", 20),  # reported twice: still one instant
]


def test_counts_the_violations_rules_md_defines(spark):
    faults = spark.createDataFrame(
        [(serial, model, tag, T0 + timedelta(seconds=s)) for serial, model, tag, s in FAULTS],
        "serial_number string, model string, tag string, ts timestamp")
    # rule 1: JAP001 at 0 and 150 (100 and 200 are within 120 of a kept one), JAP002 at 0;
    # rule 2: JAP001 pairs 130 with 100 and 150, stamped at 130 and 150;
    # rule 3: KOM001 at 10 and 20.
    assert thesis_style_violations(spark, faults, RULES) == 3 + 2 + 2


def test_no_matching_rule_is_no_violation(spark):
    faults = spark.createDataFrame([("JAP001", "JAP", "#1.100.200.3", T0)],
                                   "serial_number string, model string, tag string, ts timestamp")
    assert thesis_style_violations(spark, faults, [(1, "KOM", "#1.100.200.3")]) == 0
