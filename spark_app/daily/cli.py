"""`fleetwatch rules`, `daily`, `runs` and `violations`: the rules, the daily job
and what it recorded. Light to import: the work is imported when run."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, iso_day
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing


def add_commands(commands) -> None:
    _add_rules_commands(commands)

    daily = commands.add_parser("daily", help="run the daily job for a day or a range of days")
    from spark_app.daily.main import add_arguments
    add_arguments(daily)
    daily.set_defaults(handler=run_daily)

    violations = commands.add_parser("violations", help="list stored violations")
    violations.add_argument("--day", type=iso_day, metavar="YYYY-MM-DD",
                            help="violations whose instant falls on this UTC day")
    violations.add_argument("--rule", type=int, metavar="ID")
    violations.add_argument("--serial", metavar="S")
    violations.add_argument("--format", choices=["table", "csv", "json"], default="table")
    violations.set_defaults(handler=run_violations)
    violation_commands = violations.add_subparsers(dest="violations_command", metavar="ACTION")
    explain = violation_commands.add_parser(
        "explain", help="why violation ID exists: its rule version and witness faults")
    explain.add_argument("violation_id", type=int, metavar="ID")
    add_format_option(explain)
    explain.set_defaults(handler=run_violations_explain)

    runs = commands.add_parser("runs", help="the daily job's runs (job_runs)")
    runs.add_argument("--day", type=iso_day, metavar="YYYY-MM-DD")
    runs.add_argument("--check", action="store_true",
                      help="exit 1 unless the latest run of --day succeeded")
    runs.set_defaults(handler=run_runs)


def _add_rules_commands(commands) -> None:
    rules = commands.add_parser("rules", help="check, evaluate and manage rules")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = rule_commands.add_parser("check", help="exit 0 if EXPR is a valid rule, else 2")
    check.add_argument("expression", metavar="EXPR")
    check.set_defaults(handler=run_rules_check)
    evaluate = rule_commands.add_parser("eval", help="print the violations of EXPR over a CSV")
    evaluate.add_argument("expression", metavar="EXPR")
    evaluate.add_argument("--faults", required=True, metavar="FILE.csv",
                          help="CSV with header serial_number,tag,timestamp")
    evaluate.set_defaults(handler=run_rules_eval)
    add = rule_commands.add_parser("add", help="validate and store a rule")
    add.add_argument("--model", required=True)
    add.add_argument("expression", metavar="EXPR")
    add.add_argument("--description")
    add.set_defaults(handler=run_rules_add)
    listing = rule_commands.add_parser("list", help="list stored rules")
    listing.add_argument("--active", action="store_true", help="only active rules")
    listing.set_defaults(handler=run_rules_list)
    disable = rule_commands.add_parser("disable", help="deactivate a rule")
    disable.add_argument("rule_id", type=int, metavar="ID")
    disable.set_defaults(handler=run_rules_disable)
    enable = rule_commands.add_parser("enable", help="activate a rule again")
    enable.add_argument("rule_id", type=int, metavar="ID")
    enable.set_defaults(handler=run_rules_enable)
    edit = rule_commands.add_parser(
        "edit", help="store a new version of a rule; earlier versions and their violations stay")
    edit.add_argument("rule_id", type=int, metavar="ID")
    edit.add_argument("--expression", metavar="EXPR")
    edit.add_argument("--description")
    edit.set_defaults(handler=run_rules_edit)
    history = rule_commands.add_parser("history", help="the versions of a rule, with their dates")
    history.add_argument("rule_id", type=int, metavar="ID")
    add_format_option(history)
    history.set_defaults(handler=run_rules_history)
    backtest = rule_commands.add_parser(
        "backtest", help="what a rule would have found over the faults received on some days "
                         "(nothing is written)")
    backtest.add_argument("expression", nargs="?", metavar="EXPR",
                          help="a draft rule (with --model), or give --rule ID")
    backtest.add_argument("--model", help="the equipment model EXPR is for")
    backtest.add_argument("--rule", type=int, metavar="ID", help="a stored rule, as it is now")
    backtest.add_argument("--from", dest="first_day", required=True, type=iso_day,
                          metavar="YYYY-MM-DD", help="first received day")
    backtest.add_argument("--to", dest="last_day", required=True, type=iso_day,
                          metavar="YYYY-MM-DD", help="last received day")
    backtest.add_argument("--against", type=int, metavar="ID",
                          help="diff with rule ID's violations found by the runs of those days")
    add_format_option(backtest)
    backtest.set_defaults(handler=run_rules_backtest)
    importing = rule_commands.add_parser(
        "import", help="import model,expression[,description] rows, all or nothing")
    importing.add_argument("path", metavar="FILE.csv")
    importing.set_defaults(handler=run_rules_import)


def run_rules_check(args) -> int:
    from rules import cli as rules_cli

    return rules_cli.check(args.expression, sys.stderr)


def run_rules_eval(args) -> int:
    from rules import cli as rules_cli

    return rules_cli.eval_csv(args.expression, args.faults, sys.stdout, sys.stderr)


def _rule_store(args):
    from spark_app.common.relational import engine_from_config
    from spark_app.daily.rule_store import RuleStore

    return RuleStore(engine_from_config(load_config(args.config)))


def run_rules_add(args) -> int:
    try:
        rule_id = _rule_store(args).add(args.model, args.expression, args.description)
    except ValueError as error:
        print(f"fleetwatch: rule refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(rule_id)
    return EXIT_OK


def run_rules_list(args) -> int:
    rules = _rule_store(args).list(include_inactive=not args.active)
    print(f"{'id':>5}  {'model':<12} {'active':<6}  expression")
    for rule in rules:
        print(f"{rule.id:>5}  {rule.model:<12} {'yes' if rule.active else 'no':<6}  "
              f"{rule.expression}" + (f"   -- {rule.description}" if rule.description else ""))
    return EXIT_OK


def run_rules_disable(args) -> int:
    if not _rule_store(args).disable(args.rule_id):
        print(f"fleetwatch: no rule with id {args.rule_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"rule {args.rule_id} disabled")
    return EXIT_OK


def run_rules_enable(args) -> int:
    if not _rule_store(args).enable(args.rule_id):
        print(f"fleetwatch: no rule with id {args.rule_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"rule {args.rule_id} enabled")
    return EXIT_OK


def run_rules_edit(args) -> int:
    from rules.errors import RuleSyntaxError
    from spark_app.daily.rule_store import UnknownRule

    if args.expression is None and args.description is None:
        print("fleetwatch: nothing to edit: give --expression and/or --description",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        edit = _rule_store(args).edit(args.rule_id, args.expression, args.description)
    except RuleSyntaxError as error:
        print(f"fleetwatch: rule refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UnknownRule as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if edit.changed:
        print(f"rule {edit.rule_id} is now at version {edit.version}")
    else:
        print(f"rule {edit.rule_id} unchanged at version {edit.version}")
    return EXIT_OK


def run_rules_history(args) -> int:
    from spark_app.daily.rule_store import UnknownRule

    try:
        versions = _rule_store(args).history(args.rule_id)
    except UnknownRule as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    write_listing([{"rule_id": version.rule_id, "version": version.version,
                    "created_at": version.created_at, "expression": version.expression,
                    "description": version.description} for version in versions],
                  [Column("version", align_right=True), Column("created_at"),
                   Column("expression"), Column("description")],
                  args.format, sys.stdout, noun="version")
    return EXIT_OK


def run_rules_import(args) -> int:
    from spark_app.daily.rule_store import RuleImportError

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


def run_rules_backtest(args) -> int:
    from rules.errors import RuleSyntaxError
    from rules.parser import parse_rule
    from spark_app.daily.backtest import Backtest
    from spark_app.daily.main import days_between

    if (args.expression is None) == (args.rule is None):
        return _refuse("give a draft rule EXPR with --model, or a stored rule with --rule ID")
    if args.expression is not None and args.model is None:
        return _refuse("EXPR needs --model: the equipment model whose faults it reads")
    try:
        days_between(args.first_day, args.last_day)
    except ValueError as error:
        return _refuse(str(error).replace("--day", "--from"))
    expression, model = args.expression, args.model
    if args.rule is not None or args.against is not None:
        store = _rule_store(args)
        for rule_id in filter(None, (args.rule, args.against)):
            if store.get(rule_id) is None:
                return _refuse(f"no rule with id {rule_id}")
        if args.rule is not None:
            stored = store.get(args.rule)
            expression, model = stored.expression, model or stored.model
    try:
        rule = parse_rule(expression)
    except RuleSyntaxError as error:
        print(f"invalid rule: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from spark_app.daily.backtest_report import backtest_and_print

    return backtest_and_print(load_config(args.config),
                              Backtest(rule, model, args.first_day, args.last_day),
                              args.against, args.format, sys.stdout, sys.stderr)


def _refuse(message: str) -> int:
    print(f"fleetwatch: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run_daily(args) -> int:
    from spark_app.daily.main import days_between, run

    try:
        days = days_between(args.day, args.to)
    except ValueError as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return run(load_config(args.config), days)


def run_violations(args) -> int:
    from spark_app.common.relational import engine_from_config
    from spark_app.daily.violation_report import ViolationFilter, print_violations, query_violations

    rows = query_violations(engine_from_config(load_config(args.config)),
                            ViolationFilter(day=args.day, rule_id=args.rule, serial=args.serial))
    print_violations(rows, args.format, sys.stdout)
    return EXIT_OK


def run_violations_explain(args) -> int:
    from spark_app.common.relational import engine_from_config
    from spark_app.daily.violation_explain import explain_violation, print_explanation

    explanation = explain_violation(engine_from_config(load_config(args.config)),
                                    args.violation_id)
    if explanation is None:
        print(f"fleetwatch: no violation with id {args.violation_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print_explanation(explanation, args.format, sys.stdout)
    return EXIT_OK


def run_runs(args) -> int:
    from spark_app.common.relational import engine_from_config
    from spark_app.daily.run_report import check_day, print_runs, runs_of

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
