"""BENCHMARKS.md from the harness' flat results (`"p1.floor_s": 1.2, …`): one table per
section, each figure beside its goal from issue 7 and whether it is met.

`python -m bench.report [RESULTS_JSON] [OUT_MD]` writes the report again from
a run's results (default var/bench/results.json into BENCHMARKS.md), without
measuring anything."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

SECTIONS = ("pd", "p1", "p2", "p3", "p4", "p5", "evaluator", "backtest")
TITLES = {
    "pd": "PD — a realistic day, whole processes",
    "p1": "P1 — evaluation on cached synthetic input",
    "p2": "P2 — end to end from Cassandra",
    "p3": "P3 — scaling of the daily job",
    "p4": "P4 — ingest",
    "p5": "P5 — temperature stream",
    "evaluator": "Rule evaluator",
    "backtest": "Backtest — one rule over 30 received days, whole processes",
}

# The goals of issues 7 and 16. P1's goal is retired (issue 16): its floor
# writes nothing, so it stays a diagnostic row.
PD_MAX_RATIO = 1.3  # fleetwatch daily / the fastest bare read, whole processes, median of pairs
P2_MAX_RATIO = 1.4  # fleetwatch / the fastest bare scan
P2_MAX_CPU_RATIO = 1.5  # machine-wide CPU-seconds, fleetwatch / the scan
P3_MAX_SLOPE = 1.05
P3_FLAT_TOLERANCE = 1.25  # "flat" memory: the largest peak within 25% of the smallest
P4_MIN_RATIO = 0.8  # ingest / bare driver, unlogged batches of one partition
P5_MIN_READINGS_S = 50_000  # issue 16: sustained at a steady arrival rate
P5_LATENCY_MARGIN_S = 3.0  # p95 <= trigger + this
BACKTEST_MAX_RATIO = 1.2  # issue 18: about one read of the days' faults of the model


def loglog_slope(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope of log(seconds) against log(size): 1 is linear scaling."""
    if len(sizes) != len(seconds) or len(sizes) < 2:
        raise ValueError("need at least two (size, seconds) pairs")
    xs = [math.log(size) for size in sizes]
    ys = [math.log(value) for value in seconds]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        raise ValueError("need at least two different sizes")
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def goals_met(section: str, results: dict) -> dict[str, bool]:
    """Whether each goal of the section is met, by goal name ({} for a section without goals)."""
    return _GOALS[section](results)


def render(results: dict) -> str:
    """The whole BENCHMARKS.md: machine and versions, then one table per section that ran."""
    changes = " (with uncommitted changes)" if results.get("uncommitted_changes") else ""
    lines = ["# Benchmarks", "",
             f"`python -m bench --scale {results['scale']}` at commit `{results['commit']}`"
             f"{changes}, {results['date']}. Ratios compare figures of this one run on this "
             "machine. Reproduce with `make bench` (`SCALE=small` for a short run); "
             "`python -m bench.report` rewrites this file from `var/bench/results.json`.", ""]
    lines += [f"- {key}: {value}" for key, value in results.items()
              if key.startswith(("machine.", "versions."))]
    for section in SECTIONS:
        if any(key.startswith(f"{section}.") for key in results):
            lines += ["", *section_table(section, results)]
    return "\n".join(lines) + "\n"


def section_table(section: str, results: dict) -> list[str]:
    """The section's heading, table and what dominates its time, as Markdown lines;
    raises KeyError, TypeError or ValueError when its figures are incomplete."""
    lines = [f"## {TITLES[section]}", ""]
    parameters = results.get(f"{section}.parameters")
    if parameters:
        lines += ["Run with " + ", ".join(f"{key} {_amount(value)}"
                                          for key, value in parameters.items()) + ".", ""]
    rerun = results.get(f"{section}.rerun")
    if rerun:
        lines += [f"Rerun alone (`--update`) at commit `{rerun['commit']}`, {rerun['date']}; "
                  "its ratios compare figures of that run.", ""]
    if f"{section}.error" in results:
        return lines + [f"Failed: `{results[section + '.error']}`"]
    header, rows = _TABLES[section](results, goals_met(section, results))
    lines += [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows)]
    if f"{section}.dominant" in results:
        lines += ["", f"What dominates: {results[section + '.dominant']}"]
    return lines


def _pd_goals(results: dict) -> dict[str, bool]:
    return {"daily_vs_read": results["pd.ratio"] <= PD_MAX_RATIO}


def _p1_goals(results: dict) -> dict[str, bool]:
    return {}


def _p2_goals(results: dict) -> dict[str, bool]:
    scan = results["p2.scan_s"]
    goals = {"fleetwatch_vs_scan": results["p2.fleetwatch_s"] <= P2_MAX_RATIO * scan,
             "fleetwatch_vs_thesis": results["p2.fleetwatch_s"] < results["p2.thesis_s"]}
    if "p2.fleetwatch_postgres_s" in results:
        goals["postgres_vs_scan"] = results["p2.fleetwatch_postgres_s"] <= P2_MAX_RATIO * scan
    if "p2.scan_cpu_s" in results:
        goals["cpu"] = results["p2.fleetwatch_cpu_s"] <= P2_MAX_CPU_RATIO * results["p2.scan_cpu_s"]
    return goals


def _p3_goals(results: dict) -> dict[str, bool]:
    peaks, heap = results["p3.driver_peak_mb"], results.get("p3.jvm_heap_peak_mb")
    goals = {"slope": results["p3.slope"] <= P3_MAX_SLOPE,
             "driver_memory_flat": max(peaks) <= P3_FLAT_TOLERANCE * min(peaks)}
    if heap:
        goals["jvm_heap_flat"] = max(heap) <= P3_FLAT_TOLERANCE * min(heap)
    return goals


def _p4_goals(results: dict) -> dict[str, bool]:
    return {"ingest": (results["p4.ingest_rows_s"]
                       >= P4_MIN_RATIO * results["p4.driver_batched_rows_s"])}


def _p5_goals(results: dict) -> dict[str, bool]:
    return {"readings_s": results["p5.readings_s"] >= P5_MIN_READINGS_S,
            # every micro-batch within the trigger (runs before issue 16 did not measure it)
            "kept_up": results.get("p5.kept_up_share", 0.0) == 1.0,
            "p95_latency": (results["p5.p95_latency_s"]
                            <= results["p5.trigger_s"] + P5_LATENCY_MARGIN_S)}


_GOALS = {"pd": _pd_goals, "p1": _p1_goals, "p2": _p2_goals, "p3": _p3_goals, "p4": _p4_goals, "p5": _p5_goals,
          "evaluator": lambda results: {},
          "backtest": lambda results: {
              "backtest_vs_read": results["backtest.ratio"] <= BACKTEST_MAX_RATIO}}


def _required_work(section: str, results: dict, base: float, goal: str = "",
                   max_ratio: float | None = None) -> list[list[str]]:
    """Rows for the work the daily job cannot skip, each timed alone, and their
    sum against the goal (absent from runs before they were measured)."""
    pipeline, insert = (results.get(f"{section}.{key}")
                        for key in ("required_pipeline_s", "bare_insert_s"))
    if pipeline is None or insert is None:
        return []
    total = pipeline + insert
    return [
        ["required pipeline alone: read by shard (P1: the exchange by shard), semi-join, "
         "Arrow to Python (nothing evaluated)", _seconds(pipeline), _ratio(pipeline, base), "",
         ""],
        [f"storing the violations alone: bare sqlite3 insert of "
         f"{results[section + '.violations']:,}", _seconds(insert), _ratio(insert, base), "", ""],
        ["the two required parts, summed", _seconds(total), _ratio(total, base), goal,
         "" if max_ratio is None else
         "goal below the required work" if total > max_ratio * base else "room left"],
    ]


def _pd(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    reads, floor = results["pd.reads_s"], results["pd.floor"]
    rows = [[f"bare read of the day, {how}" + (" (the floor)" if how == floor else ""),
             _seconds(seconds), "", "", ""] for how, seconds in reads.items()]
    for pair, (scan, job, scan_cpu, job_cpu) in enumerate(zip(
            results["pd.scans_s"], results["pd.jobs_s"], results["pd.scan_cpu_s"],
            results["pd.job_cpu_s"], strict=True), start=1):
        rows.append([f"pair {pair}: floor, then `fleetwatch daily`",
                     f"{_seconds(scan)}, {_seconds(job)}", _ratio(job, scan),
                     f"{scan_cpu:.0f}, {job_cpu:.0f}", ""])
    rows += [
        [f"`fleetwatch daily`, median of the pairs ({results['pd.faults']:,} faults, "
         f"{results['pd.violations']:,} violations)", "", f"{results['pd.ratio']:.2f}",
         f"≤ {PD_MAX_RATIO}× the floor", _verdict(met["daily_vs_read"])],
        ["machine-wide CPU-seconds, median of the pairs' ratios", "",
         f"{results['pd.cpu_ratio']:.2f}", "", ""],
    ]
    if "pd.job_outside_stages_s" in results:
        rows.append(["`fleetwatch daily` outside its Spark stages (process, session, rules, "
                     "records), median", _seconds(results["pd.job_outside_stages_s"]), "", "",
                     ""])
    return ["process", "seconds", "× floor", "CPU-s (floor, job) / goal", ""], [
        *rows, *_pd_required_work(results)]


def _pd_required_work(results: dict) -> list[list[str]]:
    """What no design skips, against the pairs' median floor: the read (the
    floor itself) and storing the day's violations (absent from runs before it
    was measured). On 2 cores the read keeps both busy, so storing cannot hide
    much of itself behind it."""
    if "pd.bare_insert_s" not in results:
        return []
    floor = statistics.median(results["pd.scans_s"])
    insert = results["pd.bare_insert_s"]
    total = floor + insert
    return [
        [f"storing the violations alone: bare sqlite3 insert of {results['pd.violations']:,}",
         _seconds(insert), _ratio(insert, floor), "", ""],
        ["the floor (median of the pairs) and storing alone, summed", _seconds(total),
         _ratio(total, floor), f"≤ {PD_MAX_RATIO}× the floor",
         "goal below the required work" if total > PD_MAX_RATIO * floor else "room left"],
    ]



def _p1(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    floor = results["p1.floor_s"]
    return ["pipeline", "seconds", "× floor", "goal", ""], [
        ["floor: scan + broadcast join + count", _seconds(floor), "1.00", "", ""],
        ["thesis-style (RDD groupByKey, per-group interpreter)",
         _seconds(results["p1.thesis_s"]), _ratio(results["p1.thesis_s"], floor), "", ""],
        ["fleetwatch daily pipeline", _seconds(results["p1.fleetwatch_s"]),
         _ratio(results["p1.fleetwatch_s"], floor), "diagnostic (goal retired)", ""],
        *_required_work("p1", results, floor),
    ]


def _p2(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    scan, thesis, fleetwatch = (results[f"p2.{key}"] for key in ("scan_s", "thesis_s",
                                                                  "fleetwatch_s"))
    floor = results.get("p2.floor")
    reads = [[f"bare read of the day, {how} (first run)", _seconds(seconds), _ratio(seconds, scan),
              "", ""] for how, seconds in results.get("p2.reads_s", {}).items()]
    return ["pipeline", "seconds", "× scan", "goal", ""], [
        *reads,
        ["bare connector scan of the day (every row read into Spark)"
         + (f": {floor}, the fastest, best of two" if floor else ""), _seconds(scan), "1.00",
         "", ""],
        ["thesis-style over the same table", _seconds(thesis), _ratio(thesis, scan), "", ""],
        ["fleetwatch daily job", _seconds(fleetwatch), _ratio(fleetwatch, scan),
         f"≤ {P2_MAX_RATIO}× scan", _verdict(met["fleetwatch_vs_scan"])],
        *_p2_postgres(results, scan, met),
        *([["machine-wide CPU-seconds: scan, fleetwatch",
            f"{results['p2.scan_cpu_s']:.0f}, {results['p2.fleetwatch_cpu_s']:.0f}",
            _ratio(results["p2.fleetwatch_cpu_s"], results["p2.scan_cpu_s"]),
            f"≤ {P2_MAX_CPU_RATIO}× scan", _verdict(met["cpu"])]] if "cpu" in met else []),
        ["thesis-style / fleetwatch", "", _ratio(thesis, fleetwatch), "> 1 (faster)",
         _verdict(met["fleetwatch_vs_thesis"])],
        *_required_work("p2", results, scan, f"≤ {P2_MAX_RATIO}× scan", P2_MAX_RATIO),
    ]


def _p2_postgres(results: dict, scan: float, met: dict[str, bool]) -> list[list[str]]:
    if "postgres_vs_scan" in met:
        seconds = results["p2.fleetwatch_postgres_s"]
        return [["fleetwatch daily job on PostgreSQL", _seconds(seconds), _ratio(seconds, scan),
                 f"≤ {P2_MAX_RATIO}× scan", _verdict(met["postgres_vs_scan"])]]
    if "p2.postgres_error" in results:
        return [["fleetwatch daily job on PostgreSQL", "not run", "", results["p2.postgres_error"],
                 ""]]
    return []


def _p3(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    peaks = results["p3.driver_peak_mb"]
    heap = results.get("p3.jvm_heap_peak_mb") or [float("nan")] * len(peaks)
    rows = [[f"{size:,} faults", _seconds(seconds), f"{peak:,.0f}", f"{heap_peak:,.0f}", "", ""]
            for size, seconds, peak, heap_peak in zip(
                results["p3.sizes"], results["p3.seconds"], peaks, heap, strict=True)]
    rows += [
        ["log-log slope", f"{results['p3.slope']:.3f}", "", "", f"≤ {P3_MAX_SLOPE}",
         _verdict(met["slope"])],
        ["peak, largest / smallest", "", f"{max(peaks) / min(peaks):.2f}",
         f"{max(heap) / min(heap):.2f}" if "jvm_heap_flat" in met else "",
         f"flat (≤ {P3_FLAT_TOLERANCE})",
         ", ".join(f"{name} {_verdict(met[key])}" for name, key in
                   (("Python", "driver_memory_flat"), ("JVM", "jvm_heap_flat")) if key in met)],
    ]
    return ["size", "seconds", "Python driver peak MB", "JVM heap peak MB", "goal", ""], rows


def _p4(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    driver, ingest = results["p4.driver_rows_s"], results["p4.ingest_rows_s"]
    batched = results["p4.driver_batched_rows_s"]  # the floor: what ingest itself sends
    return ["writer", "rows/s", "× driver loop", "× batched driver", "goal", ""], [
        ["bare cassandra-driver concurrent inserts, one per row", _rate(driver), "1.00", "", "",
         ""],
        ["bare cassandra-driver, unlogged batches of one partition", _rate(batched),
         _ratio(batched, driver), "1.00", "", ""],
        ["fleetwatch ingest (JSON lines)", _rate(ingest), _ratio(ingest, driver),
         _ratio(ingest, batched), f"≥ {P4_MIN_RATIO}× batched driver", _verdict(met["ingest"])]]


def _p5(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    trigger = results["p5.trigger_s"]
    rows = [
        ["sustained readings/s", _rate(results["p5.readings_s"]),
         f"≥ {P5_MIN_READINGS_S:,}", _verdict(met["readings_s"])],
        ["batches keeping up (processing ≤ trigger)",
         f"{results.get('p5.kept_up_share', 0.0):.0%} of {results.get('p5.batches', 0)}",
         "100%", _verdict(met["kept_up"])],
        ["p95 breach-to-e-mail latency (s)", f"{results['p5.p95_latency_s']:.2f}",
         f"≤ trigger + {P5_LATENCY_MARGIN_S:g} = {trigger + P5_LATENCY_MARGIN_S:g}",
         _verdict(met["p95_latency"])],
    ]
    if "p5.dominant_stage" in results:
        rows.append(["dominant stage", results["p5.dominant_stage"], "", ""])
    return ["measure", "value", "goal", ""], rows


def _evaluator(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    simple, vectorised = results["evaluator.simple_rows_s"], results["evaluator.vectorised_rows_s"]
    return ["evaluator", "rows/s per core", "× simple"], [
        ["simple, one call per (rule, serial) group", _rate(simple), "1.00"],
        ["vectorised (one pass over all groups)", _rate(vectorised), _ratio(vectorised, simple)],
    ]


def _backtest(results: dict, met: dict[str, bool]) -> tuple[list[str], list[list[str]]]:
    reads, floor = results["backtest.reads_s"], results["backtest.floor"]
    model, faults, model_faults = (results[f"backtest.{key}"]
                                   for key in ("model", "faults", "model_faults"))
    history = (f"{results['backtest.days']} days, {faults:,} faults, model {model}'s share "
               f"{model_faults:,} ({model_faults / faults:.0%})")
    rows = [[f"bare read of {history}, {how}" + (" (the floor)" if how == floor else ""),
             _seconds(seconds), "", "", ""] for how, seconds in reads.items()]
    rows += [[f"pair {pair}: floor, then `fleetwatch rules backtest` "
              f"`{results['backtest.expression']}` --format csv",
              f"{_seconds(scan)}, {_seconds(job)}", _ratio(job, scan), "", ""]
             for pair, (scan, job) in enumerate(zip(results["backtest.scans_s"],
                                                    results["backtest.backtests_s"],
                                                    strict=True), start=1)]
    rows.append([f"backtest, median of the pairs ({results['backtest.faults_read']:,} faults of "
                 f"the rule's codes read, {results['backtest.violations']:,} violations, "
                 f"{results['backtest.jobs']} Spark jobs)", "", f"{results['backtest.ratio']:.2f}",
                 f"≤ {BACKTEST_MAX_RATIO}× the floor", _verdict(met["backtest_vs_read"])])
    return ["process", "seconds", "× floor", "goal", ""], rows


_TABLES = {"pd": _pd, "p1": _p1, "p2": _p2, "p3": _p3, "p4": _p4, "p5": _p5, "evaluator": _evaluator,
           "backtest": _backtest}


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def _amount(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(_amount(item) for item in value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _seconds(value: float) -> str:
    return f"{value:.2f}"


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}"


def main(argv: list[str] | None = None) -> None:
    import json
    import sys
    from pathlib import Path

    from spark_app.common.config import PROJECT_HOME, load_config

    arguments = sys.argv[1:] if argv is None else argv
    source = Path(arguments[0]) if arguments else load_config().var_dir / "bench" / "results.json"
    target = Path(arguments[1]) if len(arguments) > 1 else PROJECT_HOME / "BENCHMARKS.md"
    target.write_text(render(json.loads(source.read_text())))
    print(f"wrote {target} from {source}")


if __name__ == "__main__":
    main()
