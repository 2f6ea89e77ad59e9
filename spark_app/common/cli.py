"""`fleetwatch jars` and `fleetwatch db init|upgrade|current`: the JVM artifacts and the
schema migrations of both databases."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import EXIT_FAILURE, EXIT_OK
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing
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
