"""The `fleetwatch` command line. Handlers are thin: they load configuration,
call the modules that do the work, and turn known errors into a message and
an exit code (2 for bad input, 1 for a failure of a service)."""

from __future__ import annotations

import argparse
import sys

from spark_app.config import ConfigError, load_config

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleetwatch", description="Predictive maintenance for heavy-equipment fleets.")
    parser.add_argument("--config", metavar="FILE",
                        help="configuration file (default: FLEETWATCH_CONFIG or conf/fleetwatch.toml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    services = commands.add_parser("services", help="start/stop the local Cassandra")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(handler=_services)

    jars = commands.add_parser("jars", help="fetch the JVM artifacts (Cassandra, connector)")
    jars.set_defaults(handler=_jars)

    db = commands.add_parser("db", help="database schemas")
    db.add_argument("action", choices=["init"])
    db.set_defaults(handler=_db_init)

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


# ---- handlers ---------------------------------------------------------------

def _services(args) -> int:
    from spark_app.services import LocalCassandra, ServiceError

    cassandra = LocalCassandra(load_config(args.config))
    try:
        if args.action == "start":
            print(cassandra.start().line())
        elif args.action == "stop":
            if not cassandra.stop():
                print("cassandra: not running")
        else:
            status = cassandra.status()
            print(status.line())
            return EXIT_OK if status.answering else EXIT_FAILURE
    except ServiceError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _jars(args) -> int:
    from spark_app import jars

    config = load_config(args.config)
    for bundle in jars.BUNDLES:
        print(f"{bundle}: {len(jars.jar_paths(config, bundle))} jars in "
              f"{jars.bundle_dir(config, bundle)}")
    return EXIT_OK


def _db_init(args) -> int:
    from spark_app.cassandra_session import apply_schema, cassandra_session
    from spark_app.relational import create_tables, engine_from_config

    config = load_config(args.config)
    with cassandra_session(config) as session:
        count = apply_schema(config, session)
    print(f"cassandra: {count} schema statements applied to keyspace "
          f"{config.get('cassandra', 'keyspace')}")
    engine = engine_from_config(config)
    create_tables(engine)
    print(f"database: tables ready ({engine.url.render_as_string(hide_password=True)})")
    return EXIT_OK


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


def _demo(args) -> int:
    from spark_app.demo import run_demo

    return run_demo(load_config(args.config))


if __name__ == "__main__":
    sys.exit(main())
