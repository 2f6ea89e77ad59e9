"""`python -m bench --scale smoke` keeps working: figures and tables come out (never timed)."""
import json
import os
import subprocess
import sys

from spark_app.common.config import PROJECT_HOME

SECTIONS = {"p1": ("floor_s", "thesis_s", "fleetwatch_s", "required_pipeline_s",
                   "bare_insert_s"),
            "p2": ("scan_s", "thesis_s", "fleetwatch_s", "required_pipeline_s", "bare_insert_s"),
            "p3": ("slope",),
            "p4": ("driver_rows_s", "ingest_rows_s"),
            "p5": ("readings_s", "p95_latency_s"),
            "evaluator": ("vectorised_rows_s", "simple_rows_s")}
TABLE_HEADINGS = {"p1": "## P1", "p2": "## P2", "p3": "## P3", "p4": "## P4 — ingest",
                  "p5": "## P5", "evaluator": "## Rule evaluator"}


def test_smoke_run_writes_results_and_tables(cassandra, tmp_path):
    # The test session's keyspace must not leak in: the bench modules pick their own.
    environment = {key: value for key, value in os.environ.items()
                   if key != "FLEETWATCH_CASSANDRA_KEYSPACE"}
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "smoke", "--only", ",".join(SECTIONS),
         "--out", str(tmp_path)],
        cwd=PROJECT_HOME, env=environment, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    assert results["scale"] == "smoke"
    for section, keys in SECTIONS.items():
        for key in keys:
            value = results[f"{section}.{key}"]
            assert isinstance(value, int | float), (key, value)
            assert value > 0 or key == "slope", (key, value)
    report = (tmp_path / "BENCHMARKS.md").read_text()
    for heading in TABLE_HEADINGS.values():
        assert heading in report
    assert "| fleetwatch ingest (JSON lines) |" in report
    assert "| the two required parts, summed |" in report
    assert "| vectorised (one pass over all groups) |" in report


def test_realistic_day_smoke_run_times_the_floor_and_the_job_as_processes(cassandra, tmp_path):
    environment = {key: value for key, value in os.environ.items()
                   if key != "FLEETWATCH_CASSANDRA_KEYSPACE"}
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "smoke", "--only", "pd", "--out",
         str(tmp_path)], cwd=PROJECT_HOME, env=environment, capture_output=True, text=True,
        timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(results["pd.reads_s"]) == ["partition", "per-shard", "token-scan"]
    assert results["pd.floor"] == min(results["pd.reads_s"], key=results["pd.reads_s"].get)
    assert len(results["pd.jobs_s"]) == len(results["pd.scans_s"]) == 1
    # the loader writes 5,000 faults; the faults table's key folds the rare exact repeats
    assert 4_990 <= results["pd.faults"] <= 5_000
    assert results["pd.violations"] > 0 and results["pd.ratio"] > 0
    assert "## PD — a realistic day, whole processes" in (tmp_path / "BENCHMARKS.md").read_text()


def test_backtest_smoke_run_times_the_floor_and_the_command_as_processes(cassandra, tmp_path):
    environment = {key: value for key, value in os.environ.items()
                   if key != "FLEETWATCH_CASSANDRA_KEYSPACE"}
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--scale", "smoke", "--only", "backtest", "--out",
         str(tmp_path)], cwd=PROJECT_HOME, env=environment, capture_output=True, text=True,
        timeout=1200)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert sorted(results["backtest.reads_s"]) == ["one-in", "per-day"]
    assert len(results["backtest.backtests_s"]) == len(results["backtest.scans_s"]) == 1
    assert results["backtest.days"] == 3 and results["backtest.model"] == "EXC"
    # 5,000 // 3 faults a day, a quarter of them EXC's
    assert results["backtest.faults"] == 4_998
    assert 900 < results["backtest.model_faults"] < 1_100
    # the rule's two codes only: its chattiest code is about a seventh of the model's
    assert 0 < results["backtest.faults_read"] < results["backtest.model_faults"] / 4
    assert results["backtest.jobs"] <= 3  # one read and one evaluation, not a job per day
    assert "## Backtest — one rule over 30 received days" in (
        tmp_path / "BENCHMARKS.md").read_text()
