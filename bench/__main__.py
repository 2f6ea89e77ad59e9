"""The benchmarks of issues 7 and 16 in one run, side by side:

    python -m bench --scale small|full|smoke [--only pd,p1,p2,p3,p4,p5,evaluator,backtest] [--out DIR]
                    [--update]

Runs the sections in order, writes DIR/results.json (default var/bench) and
BENCHMARKS.md (the repository's; with --out, DIR's, so a trial run leaves the
repository's alone). A section that fails is recorded with its error and the
others still run; the exit status is then 1. --update reruns only the --only
sections and keeps the others from the existing results.json (same scale);
the report marks each rerun section with its own commit and date.
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import machine
from bench.report import SECTIONS, loglog_slope, render, section_table
from spark_app.common.config import PROJECT_HOME, load_config
from spark_app.common.log_setup import chosen_level, configure_logging
from spark_app.common.progress import Progress

log = logging.getLogger("bench")

SEED = 7
P3_FULL_SIZES = [1_000_000, 2_000_000, 4_000_000, 8_000_000, 16_000_000]
SCALES = {
    "full": {
        "pd": {"faults": 3_000_000, "pairs": 3},
        "p1": {"faults": 2_000_000, "rules": 500},
        "p2": {"faults": 10_000_000, "rules": 500},
        "p3": {"sizes": P3_FULL_SIZES, "rules": 500},
        # One timed run each: the per-row driver loop alone takes minutes here.
        "p4": {"rows": 1_000_000, "repeat": 1},
        # Fed a little above the goal: the sustained rate counts from the first
        # file's arrival to the end of the batch holding the last one, so a stream
        # that keeps up with a 50,000/s feed scores ~49,500 (the last trigger's wait).
        "p5": {"seconds": 300, "rate": 51_000, "equipment": 500, "breaches": 8},
        "evaluator": {"rows": 1_000_000, "rules": 500},
        "backtest": {"faults": 10_000_000, "days": 30, "pairs": 3},
    },
    "small": {
        "pd": {"faults": 300_000, "pairs": 3},
        "p1": {"faults": 200_000, "rules": 500},
        "p2": {"faults": 500_000, "rules": 500},
        "p3": {"sizes": [100_000, 200_000, 400_000, 800_000], "rules": 500},
        "p4": {"rows": 100_000, "repeat": 2},
        "p5": {"seconds": 90, "rate": 50_000, "equipment": 500, "breaches": 8},
        "evaluator": {"rows": 300_000, "rules": 500},
        "backtest": {"faults": 1_000_000, "days": 30, "pairs": 3},
    },
    # For CI: keeps the harness working in a few minutes; its figures mean nothing.
    "smoke": {
        "pd": {"faults": 5_000, "pairs": 1},
        "p1": {"faults": 5_000, "rules": 50},
        "p2": {"faults": 5_000, "rules": 50},
        "p3": {"sizes": [2_000, 4_000], "rules": 50},
        "p4": {"rows": 2_000, "repeat": 1},
        "p5": {"seconds": 20, "rate": 1_000, "equipment": 50, "breaches": 2},
        "evaluator": {"rows": 20_000, "rules": 50},
        "backtest": {"faults": 5_000, "days": 3, "pairs": 1},
    },
}


# Each section imports its benchmark only when it runs: one that is missing or
# broken fails its own section, not the harness.
def _pd(faults: int, pairs: int) -> dict:
    from bench import realistic

    return realistic.run(faults=faults, seed=SEED, pairs=pairs, log=print)


def _p1(faults: int, rules: int) -> dict:
    from bench import daily

    return daily.p1(faults=faults, rules=rules, log=log.info)


def _p2(faults: int, rules: int) -> dict:
    from bench import daily

    return daily.p2(faults=faults, rules=rules, log=log.info)


def _p3(sizes: list[int], rules: int) -> dict:
    from bench import daily

    figures = daily.p3(sizes=sizes, rules=rules, log=log.info)
    # One definition of the slope for every run: the report's.
    return {**figures, "slope": loglog_slope(figures["sizes"], figures["seconds"])}


def _p4(rows: int, repeat: int) -> dict:
    from bench import ingest

    return ingest.run(rows, SEED, repeat)


def _p5(seconds: int, rate: int, equipment: int, breaches: int) -> dict:
    from bench import stream
    from spark_app.stream.settings import duration_seconds

    figures = stream.run(seconds=seconds, rate=rate, equipment=equipment, seed=SEED,
                         breaches=breaches)
    return {**figures, "trigger_s": duration_seconds(figures["trigger"], "trigger")}


def _evaluator(rows: int, rules: int) -> dict:
    from bench import evaluator

    return evaluator.run(rows, rules, SEED)


def _backtest(faults: int, days: int, pairs: int) -> dict:
    from bench import backtest

    return backtest.run(faults=faults, days=days, seed=SEED, pairs=pairs, log=print)


RUNNERS = {"pd": _pd, "p1": _p1, "p2": _p2, "p3": _p3, "p4": _p4, "p5": _p5, "evaluator": _evaluator,
           "backtest": _backtest}


def run_section(section: str, parameters: dict) -> dict:
    """The section's figures as `section.key` entries, or `section.error` when it failed."""
    log.info("[%s] starting (%s)", section, _parameters_text(parameters))
    began = time.monotonic()
    error = None
    try:
        figures = RUNNERS[section](**parameters)
    except Exception as failure:
        log.exception("[%s] failed", section)
        figures, error = {}, f"{type(failure).__name__}: {failure}"
    elapsed = time.monotonic() - began
    entries = {f"{section}.{key}": value for key, value in figures.items()}
    entries.update({f"{section}.parameters": parameters, f"{section}.elapsed_s": round(elapsed, 1)})
    if not error:
        try:  # figures the report cannot show (a key missing, a wrong type) fail the section now
            section_table(section, entries)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as failure:
            error = f"cannot report its figures: {type(failure).__name__}: {failure}"
    if error:
        entries[f"{section}.error"] = error
        log.error("[%s] FAILED after %.1fs: %s", section, elapsed, error)
    else:
        log.info("[%s] done in %.1fs", section, elapsed)
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--only", type=_section_list, default=list(SECTIONS),
                        help="comma-separated sections, run in the usual order")
    parser.add_argument("--out", type=Path,
                        help="folder for results.json and BENCHMARKS.md "
                             "(default: var/bench and the repository root)")
    parser.add_argument("--update", action="store_true",
                        help="rerun the --only sections into the existing results.json")
    args = parser.parse_args(argv)
    configure_logging(chosen_level(None))
    results_dir = args.out or load_config().var_dir / "bench"
    report_dir = args.out or PROJECT_HOME

    this_run = {"commit": _git("rev-parse", "HEAD") or "unknown",
                "uncommitted_changes": bool(_git("status", "--porcelain",
                                                 "--untracked-files=no")),
                "date": datetime.now(UTC).isoformat(timespec="seconds")}
    if args.update:
        results = _earlier_results(results_dir / "results.json", args.scale, args.only)
    else:
        results = {"scale": args.scale, **this_run, **machine.describe()}
    began = time.monotonic()
    with Progress("bench", len(args.only), unit="section", logger=log, interval_s=0) as progress:
        for section in args.only:
            progress.note(f"[{section}]")
            results.update(run_section(section, SCALES[args.scale][section]))
            if args.update:
                results[f"{section}.rerun"] = this_run
            results["elapsed_s"] = round(time.monotonic() - began, 1)
            # after every section: a run stopped late keeps what it measured
            _write(results, results_dir, report_dir)
            progress.update()
    failed = [section for section in args.only if f"{section}.error" in results]
    print(f"wrote {results_dir / 'results.json'} and {report_dir / 'BENCHMARKS.md'} "
          f"in {results['elapsed_s']:.0f}s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def _write(results: dict, results_dir: Path, report_dir: Path) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "results.json").write_text(json.dumps(results, indent=1, default=_plain) + "\n")
    (report_dir / "BENCHMARKS.md").write_text(render(results))


def _earlier_results(path: Path, scale: str, sections: list[str]) -> dict:
    """The results of an earlier run, without the sections about to be rerun."""
    if not path.exists():
        raise SystemExit(f"--update needs an earlier run's {path}")
    earlier = json.loads(path.read_text())
    if earlier.get("scale") != scale:
        raise SystemExit(f"--update: {path} is of scale {earlier.get('scale')!r}, not {scale!r}")
    return {key: value for key, value in earlier.items()
            if key.split(".", 1)[0] not in sections}


def _section_list(text: str) -> list[str]:
    chosen = {name.strip() for name in text.split(",") if name.strip()}
    unknown = chosen - set(SECTIONS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"sections are {', '.join(SECTIONS)}; got {text!r}")
    return [section for section in SECTIONS if section in chosen]


def _parameters_text(parameters: dict) -> str:
    return ", ".join(f"{key}={value:,}" if isinstance(value, int) else f"{key}={value}"
                     for key, value in parameters.items())


def _git(*arguments: str) -> str:
    """git's answer in the repository, "" when git cannot answer (no git, not a clone)."""
    try:
        answer = subprocess.run(["git", *arguments], cwd=PROJECT_HOME, capture_output=True,
                                text=True)
    except OSError:
        return ""
    return answer.stdout.strip() if answer.returncode == 0 else ""


def _plain(value: object) -> object:
    """numpy scalars and anything else json cannot write."""
    return value.item() if hasattr(value, "item") else str(value)


if __name__ == "__main__":
    sys.exit(main())
