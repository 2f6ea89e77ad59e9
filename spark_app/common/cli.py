"""`fleetwatch jars`, `fleetwatch db init|upgrade|current` and `fleetwatch purge`: the JVM
artifacts, the schema migrations of both databases, and retention of the day-partitioned
Cassandra tables."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, iso_day
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing
from spark_app.common.retention import PURGEABLE
from spark_app.common.settings import CassandraSettings


def add_commands(commands) -> None:
    jars = commands.add_parser("jars", help="fetch the JVM artifacts (Cassandra, connector)")
    add_format_option(jars)
    jars.set_defaults(handler=run_jars)

    db = commands.add_parser(
        "db", help="database schemas: init and upgrade migrate both databases to the latest "
                   "schema, current shows where they are")
    db.add_argument("action", choices=["init", "upgrade", "current"])
    db.set_defaults(handler=run_db)

    purge = commands.add_parser(
        "purge", help="delete the whole days received before a day from faults (or from the "
                      "legacy rejected_messages), keeping what the daily job still needs")
    purge.add_argument("table", choices=list(PURGEABLE))
    purge.add_argument("--before", type=iso_day, required=True, metavar="YYYY-MM-DD",
                       help="purge the days before this one (it is kept)")
    purge.add_argument("--since", type=iso_day, metavar="YYYY-MM-DD",
                       help="first day to purge (default: where the last purge of the table "
                            "stopped; required the first time)")
    purge.add_argument("--force", action="store_true",
                       help="purge faults even where the daily job may still read them")
    add_format_option(purge)
    purge.set_defaults(handler=run_purge)


def run_jars(args) -> int:
    from spark_app.common import jars

    config = load_config(args.config)
    write_listing([{"bundle": bundle, "jars": len(jars.jar_paths(config, bundle)),
                    "folder": str(jars.bundle_dir(config, bundle))} for bundle in jars.BUNDLES],
                  [Column("bundle"), Column("jars", align_right=True), Column("folder")],
                  args.format, sys.stdout, noun="bundle")
    return EXIT_OK


def run_db(args) -> int:
    from schemas.migrations import SchemaMismatch
    from spark_app.common.schema_migrations import MigrationError

    config = load_config(args.config)
    try:
        if args.action == "current":
            _db_current(config)
        else:  # init is an upgrade from nothing
            _db_upgrade(config)
    except (MigrationError, SchemaMismatch) as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _db_upgrade(config) -> None:
    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.relational import create_tables, engine_from_config

    with cassandra_session(config) as session:
        print(f"cassandra: {apply_schema(config, session).line()}")
    engine = engine_from_config(config)
    print(f"database: {create_tables(engine).line()} "
          f"({engine.url.render_as_string(hide_password=True)})")


def _db_current(config) -> None:
    from schemas.migrations import current_revision, head_revision
    from spark_app.common.cassandra_session import cassandra_session, cql_migrations
    from spark_app.common.relational import engine_from_config
    from spark_app.common.schema_migrations import recorded_versions

    keyspace = config.settings(CassandraSettings).keyspace
    with cassandra_session(config) as session:
        recorded = recorded_versions(session, keyspace) or set()
    where = f"at schema version {max(recorded)}" if recorded else "no schema version recorded"
    waiting = [str(m.version) for m in cql_migrations(config) if m.version not in recorded]
    print(f"cassandra: keyspace {keyspace} {where}; "
          f"{'to apply: ' + ', '.join(waiting) if waiting else 'up to date'}")
    engine = engine_from_config(config)
    with engine.connect() as connection:
        revision = current_revision(connection)
    print(f"database: at revision {revision or '(none recorded)'} (latest {head_revision()}) "
          f"({engine.url.render_as_string(hide_password=True)})")


PURGE_COLUMNS = (Column("table"), Column("since"), Column("before"),
                 Column("days", align_right=True), Column("partitions", align_right=True),
                 Column("rows", "rows deleted", align_right=True), Column("forced"))


def run_purge(args) -> int:
    from functools import partial

    from spark_app.common.cassandra_session import cassandra_session, cql_migrations
    from spark_app.common.relational import engine_from_config
    from spark_app.common.retention import (
        DailyHorizon,
        DayPartitions,
        PurgeRefused,
        last_succeeded_day,
        purge,
        succeeded_days,
    )
    from spark_app.common.schema_migrations import recorded_versions

    config = load_config(args.config)
    cassandra = config.settings(CassandraSettings)
    engine = engine_from_config(config)
    try:
        with cassandra_session(config) as session:
            recorded = recorded_versions(session, cassandra.keyspace) or set()
            if any(m.version not in recorded for m in cql_migrations(config)):
                raise PurgeRefused(f"keyspace {cassandra.keyspace} is not at the latest schema: "
                                   "run `fleetwatch db upgrade` first")
            result = purge(
                DayPartitions(session, cassandra.keyspace, args.table, cassandra.shards),
                args.before, args.since, force=args.force,
                last_succeeded_day=partial(last_succeeded_day, engine),
                succeeded_days=partial(succeeded_days, engine),
                horizon_days=config.settings(DailyHorizon).horizon_days)
    except PurgeRefused as refused:
        print(f"fleetwatch: {refused}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
    write_listing([result.record()], PURGE_COLUMNS, args.format, sys.stdout, noun="purge")
    return EXIT_OK
