"""`fleetwatch ingest` and `fleetwatch ingest-status`. Light to import: the work
is imported when run."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, iso_instant
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing
from spark_app.common.settings import CassandraSettings


def add_commands(commands) -> None:
    ingest = commands.add_parser(
        "ingest", help="ingest fault telemetry: JSON-lines files or folders, XML feed URLs")
    ingest.add_argument("sources", nargs="+", metavar="FILE|DIR|URL",
                        help="JSON-lines files, folders of *.jsonl files, or http(s) URLs of "
                             "paged XML fault feeds (resumed from their stored cursor)")
    ingest.set_defaults(handler=run_ingest)

    feeds = commands.add_parser("ingest-status", help="when each feed was last pulled")
    feeds.add_argument("--since", type=iso_instant, metavar="ISO8601",
                       help="exit 1 unless every feed was pulled at or after this instant")
    add_format_option(feeds)
    feeds.set_defaults(handler=run_ingest_status)


def run_ingest(args) -> int:
    from spark_app.ingest.run import ingest

    try:
        summary = ingest(load_config(args.config), args.sources)
    except FileNotFoundError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(summary.text())
    return summary.exit_code


def run_ingest_status(args) -> int:
    from spark_app.common.cassandra_session import cassandra_session
    from spark_app.ingest.feed_status import FeedStates, behind

    config = load_config(args.config)
    with cassandra_session(config) as session:
        states = FeedStates(session, config.settings(CassandraSettings).keyspace).all()
    write_listing([{"feed": state.feed, "pulled_at": state.updated_at,
                    "next_url": state.next_url} for state in states],
                  [Column("feed"), Column("pulled_at", "pulled at"), Column("next_url", "next")],
                  args.format, sys.stdout, noun="feed")
    if args.since is None:
        return EXIT_OK
    if not states:
        print("no feed has been pulled yet", file=sys.stderr)
        return EXIT_FAILURE
    late = behind(states, args.since)
    for state in late:
        print(f"not pulled since {args.since.isoformat()}: {state.feed}", file=sys.stderr)
    return EXIT_FAILURE if late else EXIT_OK
