"""The `fleetwatch` command line. Handlers are thin: they load configuration,
call the modules that do the work, and turn known errors into a message and
an exit code (2 for bad input, 1 for a failure of a service)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC

from spark_app.config import ConfigError, load_config

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetwatch", description="Predictive maintenance for heavy-equipment fleets.")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: FLEETWATCH_CONFIG or conf/fleetwatch.toml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    services = commands.add_parser(
        "services", help="start/stop the local Cassandra and loopback SMTP sink")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(handler=_services)

    jars = commands.add_parser("jars", help="fetch the JVM artifacts (Cassandra, connector)")
    jars.set_defaults(handler=_jars)

    db = commands.add_parser(
        "db", help="database schemas: init and upgrade migrate both databases to the latest "
                   "schema, current shows where they are")
    db.add_argument("action", choices=["init", "upgrade", "current"])
    db.set_defaults(handler=_db)

    rules = commands.add_parser("rules", help="check, evaluate and manage rules")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = rule_commands.add_parser("check", help="exit 0 if EXPR is a valid rule, else 2")
    check.add_argument("expression", metavar="EXPR")
    check.set_defaults(handler=_rules_check)
    evaluate = rule_commands.add_parser("eval", help="print the violations of EXPR over a CSV")
    evaluate.add_argument("expression", metavar="EXPR")
    evaluate.add_argument("--faults", required=True, metavar="FILE.csv",
                          help="CSV with header serial_number,tag,timestamp")
    evaluate.set_defaults(handler=_rules_eval)
    add = rule_commands.add_parser("add", help="validate and store a rule")
    add.add_argument("--model", required=True)
    add.add_argument("expression", metavar="EXPR")
    add.add_argument("--description")
    add.set_defaults(handler=_rules_add)
    listing = rule_commands.add_parser("list", help="list stored rules")
    listing.add_argument("--active", action="store_true", help="only active rules")
    listing.set_defaults(handler=_rules_list)
    disable = rule_commands.add_parser("disable", help="deactivate a rule")
    disable.add_argument("rule_id", type=int, metavar="ID")
    disable.set_defaults(handler=_rules_disable)
    importing = rule_commands.add_parser(
        "import", help="import model,expression[,description] rows, all or nothing")
    importing.add_argument("path", metavar="FILE.csv")
    importing.set_defaults(handler=_rules_import)

    daily = commands.add_parser("daily", help="run the daily job for a day or a range of days")
    from spark_app.daily.main import add_arguments as add_daily_arguments
    add_daily_arguments(daily)
    daily.set_defaults(handler=_daily)

    violations = commands.add_parser("violations", help="list stored violations")
    violations.add_argument("--day", type=_iso_day, metavar="YYYY-MM-DD",
                            help="violations whose instant falls on this UTC day")
    violations.add_argument("--rule", type=int, metavar="ID")
    violations.add_argument("--serial", metavar="S")
    violations.add_argument("--format", choices=["table", "csv", "json"], default="table")
    violations.set_defaults(handler=_violations)

    stream = commands.add_parser("stream", help="run the live temperature watch")
    from spark_app.stream_entry import add_arguments as add_stream_arguments
    add_stream_arguments(stream)
    stream.set_defaults(handler=_stream)

    simulate = commands.add_parser("simulate", help="write simulated input data")
    simulations = simulate.add_subparsers(dest="simulate_command", required=True, metavar="WHAT")
    temperatures = simulations.add_parser(
        "temperatures", help="temperature readings as JSON-lines files (same seed, same data)")
    from spark_app.temperature_simulator import add_arguments as add_temperature_arguments
    add_temperature_arguments(temperatures)
    temperatures.set_defaults(handler=_simulate_temperatures)
    from spark_app import ingest_cli
    simulated_faults = simulations.add_parser(
        "faults", help="fault telemetry as a JSON-lines file (same seed, same data)")
    ingest_cli.add_simulate_faults_arguments(simulated_faults)
    simulated_faults.set_defaults(handler=_simulate_faults)
    simulated_feed = simulations.add_parser(
        "feed", help="serve a paged XML fault feed on loopback until interrupted")
    ingest_cli.add_simulate_feed_arguments(simulated_feed)
    simulated_feed.set_defaults(handler=_simulate_feed)

    ingest = commands.add_parser(
        "ingest", help="ingest fault telemetry: JSON-lines files or folders, XML feed URLs")
    ingest_cli.add_ingest_arguments(ingest)
    ingest.set_defaults(handler=_ingest)

    feeds = commands.add_parser("ingest-status", help="when each feed was last pulled")
    feeds.add_argument("--since", type=_iso_instant, metavar="ISO8601",
                       help="exit 1 unless every feed was pulled at or after this instant")
    feeds.set_defaults(handler=_ingest_status)

    runs = commands.add_parser("runs", help="the daily job's runs (job_runs)")
    runs.add_argument("--day", type=_iso_day, metavar="YYYY-MM-DD")
    runs.add_argument("--check", action="store_true",
                      help="exit 1 unless the latest run of --day succeeded")
    runs.set_defaults(handler=_runs)

    demo = commands.add_parser("demo", help="run the end-to-end demo on the embedded defaults")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"fleetwatch: configuration error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("fleetwatch: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - known service failures get a plain message
        message = _service_failure(error)
        if message is None:
            raise
        print(f"fleetwatch: {message}", file=sys.stderr)
        return EXIT_FAILURE


def _service_failure(error: Exception) -> str | None:
    """A one-line explanation of a failure of Cassandra or the database, else None."""
    kind = f"{type(error).__module__}.{type(error).__name__}"
    if kind == "cassandra.cluster.NoHostAvailable":
        return (f"Cassandra is not reachable ({error}); is it running? "
                "`fleetwatch services start` starts the local one")
    if kind == "cassandra.InvalidRequest" and "does not exist" in str(error):
        return f"{error}; run `fleetwatch db init` to create the schema"
    if kind.startswith("sqlalchemy.exc.") and ("no such table" in str(error)
                                               or "does not exist" in str(error)):
        return f"{str(error).splitlines()[0]}; run `fleetwatch db init` to create the tables"
    if kind == "sqlalchemy.exc.OperationalError":
        return f"the database is not reachable: {str(error).splitlines()[0]}"
    return None


# ---- handlers ---------------------------------------------------------------

def _services(args) -> int:
    from spark_app.local_mail_sink import local_services
    from spark_app.services import ServiceError

    services = local_services(load_config(args.config))
    all_answering = True
    try:
        for service in services:
            if args.action == "start":
                print(service.start().line())
            elif args.action == "stop":
                if not service.stop():
                    print(f"{service.status().name}: not running")
            else:
                status = service.status()
                print(status.line())
                all_answering = all_answering and status.answering
    except ServiceError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK if all_answering else EXIT_FAILURE


def _jars(args) -> int:
    from spark_app import jars

    config = load_config(args.config)
    for bundle in jars.BUNDLES:
        print(f"{bundle}: {len(jars.jar_paths(config, bundle))} jars in "
              f"{jars.bundle_dir(config, bundle)}")
    return EXIT_OK


def _db(args) -> int:
    from schemas.migrations import SchemaMismatch
    from spark_app.schema_migrations import MigrationError

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
    from spark_app.cassandra_session import apply_schema, cassandra_session
    from spark_app.relational import create_tables, engine_from_config

    with cassandra_session(config) as session:
        print(f"cassandra: {apply_schema(config, session).line()}")
    engine = engine_from_config(config)
    print(f"database: {create_tables(engine).line()} "
          f"({engine.url.render_as_string(hide_password=True)})")


def _db_current(config) -> None:
    from schemas.migrations import current_revision, head_revision
    from spark_app.cassandra_session import cassandra_session, cql_migrations
    from spark_app.relational import engine_from_config
    from spark_app.schema_migrations import recorded_versions

    keyspace = config.get("cassandra", "keyspace")
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


def _rules_check(args) -> int:
    from rules import cli as rules_cli

    return rules_cli.check(args.expression, sys.stderr)


def _rules_eval(args) -> int:
    from rules import cli as rules_cli

    return rules_cli.eval_csv(args.expression, args.faults, sys.stdout, sys.stderr)


def _rule_store(args):
    from spark_app.relational import engine_from_config
    from spark_app.rule_store import RuleStore

    return RuleStore(engine_from_config(load_config(args.config)))


def _rules_add(args) -> int:
    try:
        rule_id = _rule_store(args).add(args.model, args.expression, args.description)
    except ValueError as error:
        print(f"fleetwatch: rule refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(rule_id)
    return EXIT_OK


def _rules_list(args) -> int:
    rules = _rule_store(args).list(include_inactive=not args.active)
    print(f"{'id':>5}  {'model':<12} {'active':<6}  expression")
    for rule in rules:
        print(f"{rule.id:>5}  {rule.model:<12} {'yes' if rule.active else 'no':<6}  "
              f"{rule.expression}" + (f"   -- {rule.description}" if rule.description else ""))
    return EXIT_OK


def _rules_disable(args) -> int:
    if not _rule_store(args).disable(args.rule_id):
        print(f"fleetwatch: no rule with id {args.rule_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"rule {args.rule_id} disabled")
    return EXIT_OK


def _rules_import(args) -> int:
    from spark_app.rule_store import RuleImportError

    try:
        ids = _rule_store(args).import_csv(args.path)
    except RuleImportError as error:
        print(f"fleetwatch: nothing imported, {len(error.problems)} bad line(s):",
              file=sys.stderr)
        print(str(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError:
        print(f"fleetwatch: no such file: {args.path}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"imported {len(ids)} rule(s): " + ", ".join(map(str, ids)))
    return EXIT_OK


def _iso_day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def _daily(args) -> int:
    from spark_app.daily.main import days_between, run

    try:
        days = days_between(args.day, args.to)
    except ValueError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run(load_config(args.config), days)


def _violations(args) -> int:
    from spark_app.relational import engine_from_config
    from spark_app.violation_report import ViolationFilter, print_violations, query_violations

    rows = query_violations(engine_from_config(load_config(args.config)),
                            ViolationFilter(day=args.day, rule_id=args.rule, serial=args.serial))
    print_violations(rows, args.format, sys.stdout)
    return EXIT_OK


def _stream(args) -> int:
    from spark_app.stream_entry import run_from_args

    return run_from_args(args)


def _simulate_temperatures(args) -> int:
    from spark_app.temperature_simulator import run_from_args

    return run_from_args(args)


def _ingest(args) -> int:
    from spark_app.ingest_cli import run_ingest

    return run_ingest(load_config(args.config), args)


def _simulate_faults(args) -> int:
    from spark_app.ingest_cli import run_simulate_faults

    return run_simulate_faults(args)


def _simulate_feed(args) -> int:
    from spark_app.ingest_cli import run_simulate_feed

    return run_simulate_feed(args)


def _iso_instant(text: str):
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _ingest_status(args) -> int:
    from spark_app.cassandra_session import cassandra_session
    from spark_app.feed_status import FeedStates, behind

    config = load_config(args.config)
    with cassandra_session(config) as session:
        states = FeedStates(session, config.get("cassandra", "keyspace")).all()
    for state in states:
        print(f"{state.updated_at:%Y-%m-%dT%H:%M:%SZ}  {state.feed}  next: {state.next_url}")
    if args.since is None:
        return EXIT_OK
    if not states:
        print("no feed has been pulled yet", file=sys.stderr)
        return EXIT_FAILURE
    late = behind(states, args.since)
    for state in late:
        print(f"not pulled since {args.since.isoformat()}: {state.feed}", file=sys.stderr)
    return EXIT_FAILURE if late else EXIT_OK


def _runs(args) -> int:
    from spark_app.relational import engine_from_config
    from spark_app.run_report import check_day, print_runs, runs_of

    engine = engine_from_config(load_config(args.config))
    if args.check:
        if args.day is None:
            print("fleetwatch: --check needs --day", file=sys.stderr)
            return EXIT_BAD_INPUT
        outcome = check_day(engine, args.day)
        print(outcome.message, file=sys.stdout if outcome.ok else sys.stderr)
        return EXIT_OK if outcome.ok else EXIT_FAILURE
    print_runs(runs_of(engine, args.day), sys.stdout)
    return EXIT_OK


def _demo(args) -> int:
    from spark_app.demo import run_demo

    return run_demo(load_config(args.config))


if __name__ == "__main__":
    sys.exit(main())
