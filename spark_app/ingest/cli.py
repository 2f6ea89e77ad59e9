"""Arguments and handlers of `fleetwatch ingest`, `fleetwatch simulate faults`
and `fleetwatch simulate feed`. Light to import: the work is imported when run."""

from __future__ import annotations

import argparse
import sys
from datetime import date

EXIT_BAD_INPUT = 2


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="FILE|DIR|URL",
                        help="JSON-lines files, folders of *.jsonl files, or http(s) URLs of "
                             "paged XML fault feeds (resumed from their stored cursor)")


def run_ingest(config, args) -> int:
    from spark_app.ingest.run import ingest

    try:
        summary = ingest(config, args.sources)
    except FileNotFoundError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(summary.text())
    return summary.exit_code


def _add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serials", type=int, default=1000, metavar="N",
                        help="machines in the fleet (default 1000)")
    parser.add_argument("--models", type=int, default=5, metavar="M", help="(default 5)")
    parser.add_argument("--days", type=int, default=3, metavar="D", help="(default 3)")
    parser.add_argument("--start", type=date.fromisoformat, default=date(2016, 11, 16),
                        metavar="YYYY-MM-DD", help="first day of faults (default 2016-11-16)")
    parser.add_argument("--faults-per-day", type=int, default=10_000, metavar="K",
                        help="(default 10000)")
    parser.add_argument("--late-fraction", type=float, default=0.03, metavar="F",
                        help="share of faults reported 2-6 days late (default 0.03)")
    parser.add_argument("--malformed-fraction", type=float, default=0.02, metavar="F",
                        help="share of records made invalid in various ways (default 0.02)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="same seed, same data (default 0)")


def add_simulate_faults_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="FILE.jsonl")
    _add_fleet_arguments(parser)


def add_simulate_feed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8765, metavar="P", help="(default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="(default 127.0.0.1)")
    parser.add_argument("--page-size", type=int, default=500, metavar="N",
                        help="records per page (default 500)")
    _add_fleet_arguments(parser)


def _simulated(args):
    from spark_app.sim.faults import FleetSpec, simulate_faults

    spec = FleetSpec(serials=args.serials, models=args.models, days=args.days, start=args.start,
                     faults_per_day=args.faults_per_day, late_fraction=args.late_fraction)
    return simulate_faults(spec, args.seed)


def run_simulate_faults(args) -> int:
    from spark_app.sim.faults import write_jsonl

    written = write_jsonl(_simulated(args), args.out, args.malformed_fraction, args.seed)
    print(f"wrote {written.lines:,} lines to {written.path} "
          f"({written.lines - written.good:,} malformed on purpose)")
    return 0


def run_simulate_feed(args) -> int:
    import threading

    from spark_app.sim.faults import feed_records
    from spark_app.sim.feed import SimulatedFeed

    records = feed_records(_simulated(args), args.malformed_fraction, args.seed)
    with SimulatedFeed(records.records, args.page_size, args.host, args.port) as feed:
        print(f"serving {len(records.records):,} fault records "
              f"({len(records.records) - records.good:,} malformed on purpose), "
              f"{args.page_size} per page, at {feed.url}  (Ctrl-C stops)", flush=True)
        threading.Event().wait()  # until interrupted
    return 0
