"""`fleetwatch jars` and `fleetwatch db`: the JVM artifacts and the schemas."""

from __future__ import annotations

from spark_app.common.cli_args import EXIT_OK
from spark_app.common.config import load_config


def add_commands(commands) -> None:
    jars = commands.add_parser("jars", help="fetch the JVM artifacts (Cassandra, connector)")
    jars.set_defaults(handler=run_jars)

    db = commands.add_parser("db", help="database schemas")
    db.add_argument("action", choices=["init"])
    db.set_defaults(handler=run_db)


def run_jars(args) -> int:
    from spark_app.common import jars

    config = load_config(args.config)
    for bundle in jars.BUNDLES:
        print(f"{bundle}: {len(jars.jar_paths(config, bundle))} jars in "
              f"{jars.bundle_dir(config, bundle)}")
    return EXIT_OK


def run_db(args) -> int:
    from spark_app.common.cassandra_session import apply_schema, cassandra_session
    from spark_app.common.relational import create_tables, engine_from_config

    config = load_config(args.config)
    with cassandra_session(config) as session:
        count = apply_schema(config, session)
    print(f"cassandra: {count} schema statements applied to keyspace "
          f"{config.get('cassandra', 'keyspace')}")
    engine = engine_from_config(config)
    create_tables(engine)
    print(f"database: tables ready ({engine.url.render_as_string(hide_password=True)})")
    return EXIT_OK
