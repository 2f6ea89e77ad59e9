"""The report of `python -m bench`: the scaling slope, the goals of issues 7 and 16, the tables."""
import math

import pytest

from bench.report import goals_met, loglog_slope, render, section_table


@pytest.mark.parametrize(("sizes", "seconds", "slope"), [
    ([1, 2, 4, 8], [3, 6, 12, 24], 1.0),  # time doubles with the size: linear
    ([1, 2, 4], [1, 4, 16], 2.0),  # quadruples: quadratic
    ([1, 4], [2, 4], 0.5),  # ln 2 / ln 4
    # logs x = 0, 1, 2 and y = 0, 1, 1: covariance 1 over variance 2
    ([1, math.e, math.e ** 2], [1, math.e, math.e], 0.5),
])
def test_slope_of_log_seconds_against_log_size(sizes, seconds, slope):
    assert loglog_slope(sizes, seconds) == pytest.approx(slope)


@pytest.mark.parametrize(("sizes", "seconds"), [([1], [1]), ([2, 2], [1, 3]), ([1, 2], [1])])
def test_slope_needs_two_sizes(sizes, seconds):
    with pytest.raises(ValueError):
        loglog_slope(sizes, seconds)


@pytest.mark.parametrize(("section", "figures", "met"), [
    # P1's goal is retired (issue 16): a diagnostic row
    ("p1", {"floor_s": 2.0, "thesis_s": 9.0, "fleetwatch_s": 30.0}, {}),
    ("p2", {"scan_s": 10.0, "thesis_s": 40.0, "fleetwatch_s": 14.0},
     {"fleetwatch_vs_scan": True, "fleetwatch_vs_thesis": True}),
    ("p2", {"scan_s": 10.0, "thesis_s": 14.0, "fleetwatch_s": 14.01},
     {"fleetwatch_vs_scan": False, "fleetwatch_vs_thesis": False}),
    ("p2", {"scan_s": 10.0, "thesis_s": 40.0, "fleetwatch_s": 14.0,
            "fleetwatch_postgres_s": 14.01, "scan_cpu_s": 20.0, "fleetwatch_cpu_s": 30.0},
     {"fleetwatch_vs_scan": True, "fleetwatch_vs_thesis": True, "postgres_vs_scan": False,
      "cpu": True}),
    ("p2", {"scan_s": 10.0, "thesis_s": 40.0, "fleetwatch_s": 14.0,
            "fleetwatch_postgres_s": 14.0, "scan_cpu_s": 20.0, "fleetwatch_cpu_s": 30.01},
     {"fleetwatch_vs_scan": True, "fleetwatch_vs_thesis": True, "postgres_vs_scan": True,
      "cpu": False}),
    ("p3", {"slope": 1.05, "driver_peak_mb": [400, 500, 420]},
     {"slope": True, "driver_memory_flat": True}),
    ("p3", {"slope": 1.06, "driver_peak_mb": [400, 501]},
     {"slope": False, "driver_memory_flat": False}),
    ("p3", {"slope": 1.0, "driver_peak_mb": [400, 400], "jvm_heap_peak_mb": [800, 1000]},
     {"slope": True, "driver_memory_flat": True, "jvm_heap_flat": True}),
    ("p3", {"slope": 1.0, "driver_peak_mb": [400, 400], "jvm_heap_peak_mb": [800, 1001]},
     {"slope": True, "driver_memory_flat": True, "jvm_heap_flat": False}),
    ("p4", {"driver_rows_s": 1_000, "driver_batched_rows_s": 10_000, "ingest_rows_s": 8_000},
     {"ingest": True}),
    ("p4", {"driver_rows_s": 1_000, "driver_batched_rows_s": 10_000, "ingest_rows_s": 7_999},
     {"ingest": False}),
    ("p5", {"readings_s": 50_000, "kept_up_share": 1.0, "p95_latency_s": 8.0, "trigger_s": 5},
     {"readings_s": True, "kept_up": True, "p95_latency": True}),
    ("p5", {"readings_s": 49_999, "kept_up_share": 0.98, "p95_latency_s": 8.01, "trigger_s": 5},
     {"readings_s": False, "kept_up": False, "p95_latency": False}),
    ("evaluator", {"vectorised_rows_s": 1e6, "simple_rows_s": 1e4}, {}),
])
def test_goals_of_issue_7(section, figures, met):
    assert goals_met(section, {f"{section}.{key}": value for key, value in figures.items()}) == met


RESULTS = {
    "scale": "small", "commit": "abc123", "uncommitted_changes": False,
    "date": "2026-11-23T21:00:00+00:00", "machine.cores": 2, "versions.pyspark": "3.5.9",
    "p1.parameters": {"faults": 200_000, "rules": 500},
    "p1.floor_s": 2.0, "p1.thesis_s": 10.0, "p1.fleetwatch_s": 4.0,
    "p1.dominant": "stage 3: evaluate rules (mapInPandas), 60% of the job",
    "p2.parameters": {"faults": 500_000, "rules": 500},
    "p2.error": "AttributeError: module 'bench.daily' has no attribute 'p2'",
    "p3.sizes": [100_000, 200_000], "p3.seconds": [10.0, 20.0], "p3.slope": 1.0,
    "p3.driver_peak_mb": [400.0, 410.0], "p3.jvm_heap_peak_mb": [900.0, 1200.0],
    "p4.driver_rows_s": 50_000.0, "p4.driver_batched_rows_s": 60_000.0,
    "p4.ingest_rows_s": 45_000.0,
    "evaluator.vectorised_rows_s": 2_000_000.0, "evaluator.simple_rows_s": 20_000.0,
}


def test_p1_table_with_ratios_to_the_floor_goal_and_what_dominates():
    assert section_table("p1", RESULTS) == [
        "## P1 — evaluation on cached synthetic input",
        "",
        "Run with faults 200,000, rules 500.",
        "",
        "| pipeline | seconds | × floor | goal |  |",
        "| --- | --- | --- | --- | --- |",
        "| floor: scan + broadcast join + count | 2.00 | 1.00 |  |  |",
        "| thesis-style (RDD groupByKey, per-group interpreter) | 10.00 | 5.00 |  |  |",
        "| fleetwatch daily pipeline | 4.00 | 2.00 | diagnostic (goal retired) |  |",
        "",
        "What dominates: stage 3: evaluate rules (mapInPandas), 60% of the job",
    ]


def test_required_work_rows_sum_the_parts_against_the_goal():
    results = {**RESULTS, "p2.violations": 1_000, "p2.required_pipeline_s": 12.0,
               "p2.bare_insert_s": 3.0, "p2.scan_s": 10.0, "p2.thesis_s": 100.0,
               "p2.fleetwatch_s": 20.0}
    del results["p2.error"]
    assert section_table("p2", results)[10:13] == [
        "| required pipeline alone: read by shard (P1: the exchange by shard), semi-join, "
        "Arrow to Python (nothing evaluated) | 12.00 | 1.20 |  |  |",
        "| storing the violations alone: bare sqlite3 insert of 1,000 | 3.00 | 0.30 |  |  |",
        "| the two required parts, summed | 15.00 | 1.50 | ≤ 1.4× scan "
        "| goal below the required work |",
    ]
    roomy = {**results, "p2.required_pipeline_s": 11.0, "p2.bare_insert_s": 2.0}
    assert section_table("p2", roomy)[12].endswith("| room left |")
    p1 = {**RESULTS, "p1.violations": 1_000, "p1.required_pipeline_s": 2.4,
          "p1.bare_insert_s": 1.0}
    assert section_table("p1", p1)[11] == "| the two required parts, summed | 3.40 | 1.70 |  |  |"


def test_p2_table_has_the_reads_postgresql_and_cpu():
    results = {"p2.reads_s": {"partition": 30.0, "per-shard": 20.0, "token-scan": 25.0},
               "p2.floor": "per-shard", "p2.scan_s": 20.0, "p2.thesis_s": 400.0,
               "p2.fleetwatch_s": 26.0, "p2.fleetwatch_postgres_s": 30.0,
               "p2.scan_cpu_s": 38.0, "p2.fleetwatch_cpu_s": 50.0}
    assert section_table("p2", results)[4:] == [
        "| bare read of the day, partition (first run) | 30.00 | 1.50 |  |  |",
        "| bare read of the day, per-shard (first run) | 20.00 | 1.00 |  |  |",
        "| bare read of the day, token-scan (first run) | 25.00 | 1.25 |  |  |",
        "| bare connector scan of the day (every row read into Spark): per-shard, the fastest, "
        "best of two | 20.00 | 1.00 |  |  |",
        "| thesis-style over the same table | 400.00 | 20.00 |  |  |",
        "| fleetwatch daily job | 26.00 | 1.30 | ≤ 1.4× scan | met |",
        "| fleetwatch daily job on PostgreSQL | 30.00 | 1.50 | ≤ 1.4× scan | missed |",
        "| machine-wide CPU-seconds: scan, fleetwatch | 38, 50 | 1.32 | ≤ 1.5× scan | met |",
        "| thesis-style / fleetwatch |  | 15.38 | > 1 (faster) | met |",
    ]


def test_failed_section_shows_its_error():
    assert section_table("p2", RESULTS)[-1] == (
        "Failed: `AttributeError: module 'bench.daily' has no attribute 'p2'`")


def test_p3_table_one_row_per_size_then_the_goals():
    assert section_table("p3", RESULTS)[2:] == [
        "| size | seconds | Python driver peak MB | JVM heap peak MB | goal |  |",
        "| --- | --- | --- | --- | --- | --- |",
        "| 100,000 faults | 10.00 | 400 | 900 |  |  |",
        "| 200,000 faults | 20.00 | 410 | 1,200 |  |  |",
        "| log-log slope | 1.000 |  |  | ≤ 1.05 | met |",
        "| peak, largest / smallest |  | 1.02 | 1.33 | flat (≤ 1.25) | Python met, JVM missed |",
    ]


def test_incomplete_figures_cannot_be_reported():
    with pytest.raises(KeyError):
        section_table("p4", {"p4.driver_rows_s": 1.0})


def test_whole_report_has_the_environment_and_only_the_sections_that_ran():
    text = render(RESULTS)
    assert text.startswith("# Benchmarks\n\n`python -m bench --scale small` at commit `abc123`, "
                           "2026-11-23T21:00:00+00:00.")
    assert "- machine.cores: 2\n- versions.pyspark: 3.5.9\n" in text
    assert ("| fleetwatch ingest (JSON lines) | 45,000 | 0.90 | 0.75 | ≥ 0.8× batched driver "
            "| missed |") in text
    assert "| vectorised (one pass over all groups) | 2,000,000 | 100.00 |" in text
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## P1 — evaluation on cached synthetic input",
                        "## P2 — end to end from Cassandra", "## P3 — scaling of the daily job",
                        "## P4 — ingest", "## Rule evaluator"]


PD_FIGURES = {"pd.reads_s": {"partition": 20.0, "per-shard": 14.0, "token-scan": 16.5},
              "pd.floor": "per-shard", "pd.scans_s": [14.0, 15.0], "pd.jobs_s": [21.0, 18.0],
              "pd.scan_cpu_s": [20.0, 22.0], "pd.job_cpu_s": [30.0, 33.0], "pd.ratio": 1.35,
              "pd.cpu_ratio": 1.5, "pd.faults": 3_000_000, "pd.violations": 1_000_000}


@pytest.mark.parametrize(("ratio", "met"), [(1.3, True), (1.31, False)])
def test_pd_goal_is_the_median_pair_ratio(ratio, met):
    assert goals_met("pd", {**PD_FIGURES, "pd.ratio": ratio}) == {"daily_vs_read": met}


def test_pd_table_names_the_floor_and_each_pair():
    lines = section_table("pd", PD_FIGURES)
    assert lines[0] == "## PD — a realistic day, whole processes"
    assert "| bare read of the day, per-shard (the floor) | 14.00 |  |  |  |" in lines
    assert "| pair 1: floor, then `fleetwatch daily` | 14.00, 21.00 | 1.50 | 20, 30 |  |" in lines
    assert ("| `fleetwatch daily`, median of the pairs (3,000,000 faults, 1,000,000 violations) |"
            "  | 1.35 | ≤ 1.3× the floor | missed |") in lines


def test_p5_table_shows_the_batches_keeping_up_and_the_dominant_stage():
    results = {"p5.parameters": {"seconds": 90, "rate": 50_000}, "p5.trigger_s": 5,
               "p5.readings_s": 49_000.0, "p5.kept_up_share": 0.9, "p5.batches": 20,
               "p5.p95_latency_s": 7.5,
               "p5.dominant_stage": "read, parse, aggregate and store windows: 60.0 s of 80.0 s"}
    assert section_table("p5", results)[4:] == [
        "| measure | value | goal |  |",
        "| --- | --- | --- | --- |",
        "| sustained readings/s | 49,000 | ≥ 50,000 | missed |",
        "| batches keeping up (processing ≤ trigger) | 90% of 20 | 100% | missed |",
        "| p95 breach-to-e-mail latency (s) | 7.50 | ≤ trigger + 3 = 8 | met |",
        "| dominant stage | read, parse, aggregate and store windows: 60.0 s of 80.0 s |  |  |",
    ]


BACKTEST_FIGURES = {
    "backtest.days": 30, "backtest.faults": 10_000_000, "backtest.model": "EXC",
    "backtest.model_faults": 2_500_000, "backtest.expression": "#A E:1h #B tti:1d",
    "backtest.reads_s": {"one-in": 60.0, "per-day": 40.0}, "backtest.floor": "per-day",
    "backtest.scans_s": [40.0, 50.0], "backtest.backtests_s": [44.0, 45.0],
    "backtest.ratio": 1.1, "backtest.faults_read": 300_000, "backtest.violations": 1_234,
    "backtest.jobs": 2}


@pytest.mark.parametrize(("ratio", "met"), [(1.2, True), (1.21, False)])
def test_backtest_goal_is_about_one_read(ratio, met):
    assert goals_met("backtest", {**BACKTEST_FIGURES, "backtest.ratio": ratio}) == {
        "backtest_vs_read": met}


def test_backtest_table_says_the_history_the_floor_and_each_pair():
    assert section_table("backtest", BACKTEST_FIGURES)[2:] == [
        "| process | seconds | × floor | goal |  |",
        "| --- | --- | --- | --- | --- |",
        "| bare read of 30 days, 10,000,000 faults, model EXC's share 2,500,000 (25%), one-in "
        "| 60.00 |  |  |  |",
        "| bare read of 30 days, 10,000,000 faults, model EXC's share 2,500,000 (25%), per-day "
        "(the floor) | 40.00 |  |  |  |",
        "| pair 1: floor, then `fleetwatch rules backtest` `#A E:1h #B tti:1d` --format csv "
        "| 40.00, 44.00 | 1.10 |  |  |",
        "| pair 2: floor, then `fleetwatch rules backtest` `#A E:1h #B tti:1d` --format csv "
        "| 50.00, 45.00 | 0.90 |  |  |",
        "| backtest, median of the pairs (300,000 faults of the rule's codes read, 1,234 "
        "violations, 2 Spark jobs) |  | 1.10 | ≤ 1.2× the floor | met |",
    ]


def test_pd_table_sets_the_floor_and_storing_alone_against_the_goal():
    stored = {**PD_FIGURES, "pd.scans_s": [14.0, 16.0, 15.0], "pd.jobs_s": [21.0, 18.0, 20.0],
              "pd.scan_cpu_s": [20.0, 22.0, 21.0], "pd.job_cpu_s": [30.0, 33.0, 31.0],
              "pd.bare_insert_s": 5.0}
    lines = section_table("pd", stored)
    assert ("| storing the violations alone: bare sqlite3 insert of 1,000,000 | 5.00 | 0.33 "
            "|  |  |") in lines
    assert ("| the floor (median of the pairs) and storing alone, summed | 20.00 | 1.33 "
            "| ≤ 1.3× the floor | goal below the required work |") in lines
    roomy = section_table("pd", {**stored, "pd.bare_insert_s": 4.0})
    assert ("| the floor (median of the pairs) and storing alone, summed | 19.00 | 1.27 "
            "| ≤ 1.3× the floor | room left |") in roomy
    assert not any("storing" in line for line in section_table("pd", PD_FIGURES))
