"""`fleetwatch simulate temperatures|faults|feed`: seeded simulated input.
Light to import: the simulators are imported when run."""

from __future__ import annotations

import argparse
from datetime import date

from spark_app.common.cli_args import (
    fraction,
    iso_day,
    positive_whole_number,
    seed,
    tcp_port,
    whole_number,
)


def add_commands(commands) -> None:
    simulate = commands.add_parser("simulate", help="write simulated input data")
    simulations = simulate.add_subparsers(dest="simulate_command", required=True, metavar="WHAT")
    temperatures = simulations.add_parser(
        "temperatures", help="temperature readings as JSON-lines files (same seed, same data)")
    from spark_app.sim.temperatures import add_arguments as add_temperature_arguments
    add_temperature_arguments(temperatures)
    temperatures.set_defaults(handler=run_temperatures)
    faults = simulations.add_parser(
        "faults", help="fault telemetry as a JSON-lines file (same seed, same data)")
    _add_faults_arguments(faults)
    faults.set_defaults(handler=run_faults)
    feed = simulations.add_parser(
        "feed", help="serve a paged XML fault feed on loopback until interrupted")
    _add_feed_arguments(feed)
    feed.set_defaults(handler=run_feed)


def run_temperatures(args) -> int:
    from spark_app.sim.temperatures import run_from_args

    return run_from_args(args)


def _add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serials", type=positive_whole_number, default=1000, metavar="N",
                        help="machines in the fleet (default 1000)")
    parser.add_argument("--models", type=positive_whole_number, default=5, metavar="M", help="(default 5)")
    parser.add_argument("--days", type=positive_whole_number, default=3, metavar="D", help="(default 3)")
    parser.add_argument("--start", type=iso_day, default=date(2016, 11, 16),
                        metavar="YYYY-MM-DD", help="first day of faults (default 2016-11-16)")
    parser.add_argument("--faults-per-day", type=whole_number, default=10_000, metavar="K",
                        help="(default 10000)")
    parser.add_argument("--late-fraction", type=fraction, default=0.03, metavar="F",
                        help="share of faults reported 2-6 days late (default 0.03)")
    parser.add_argument("--malformed-fraction", type=fraction, default=0.02, metavar="F",
                        help="share of records made invalid in various ways (default 0.02)")
    parser.add_argument("--seed", type=seed, default=0, metavar="S",
                        help="same seed, same data (default 0)")


def _add_faults_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="FILE.jsonl")
    _add_fleet_arguments(parser)


def _add_feed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=tcp_port, default=8765, metavar="P", help="(default 8765)")
    parser.add_argument("--host", default="127.0.0.1", help="(default 127.0.0.1)")
    parser.add_argument("--page-size", type=positive_whole_number, default=500, metavar="N",
                        help="records per page (default 500)")
    _add_fleet_arguments(parser)


def _simulated(args):
    from spark_app.sim.faults import FleetSpec, simulate_faults

    spec = FleetSpec(serials=args.serials, models=args.models, days=args.days, start=args.start,
                     faults_per_day=args.faults_per_day, late_fraction=args.late_fraction)
    return simulate_faults(spec, args.seed)


def run_faults(args) -> int:
    from spark_app.sim.faults import write_jsonl

    written = write_jsonl(_simulated(args), args.out, args.malformed_fraction, args.seed)
    print(f"wrote {written.lines:,} lines to {written.path} "
          f"({written.lines - written.good:,} malformed on purpose)")
    return 0


def run_feed(args) -> int:
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
