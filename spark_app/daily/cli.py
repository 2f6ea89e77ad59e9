"""`fleetwatch rules`, `daily`, `runs` and `violations`: the rules, the daily job
and what it recorded. Light to import: the work is imported when run."""

from __future__ import annotations

import sys

from spark_app.common.cli_args import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    EXIT_OK,
    iso_day,
    whole_number,
)
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing


def add_commands(commands) -> None:
    _add_rules_commands(commands)

    daily = commands.add_parser("daily", help="run the daily job for a day or a range of days")
    from spark_app.daily.main import add_arguments
    add_arguments(daily)
    daily.add_argument("--no-notify", action="store_true",
                       help="do not send the days' digests (fleetwatch notify) afterwards")
    daily.set_defaults(handler=run_daily)

    _add_violations_commands(commands)

    runs = commands.add_parser("runs", help="the daily job's runs (job_runs)")
    runs.add_argument("--day", type=iso_day, metavar="YYYY-MM-DD")
    runs.add_argument("--check", action="store_true",
                      help="exit 1 unless the latest run of --day succeeded")
    add_format_option(runs)
    runs.set_defaults(handler=run_runs)


def _add_violations_commands(commands) -> None:
    from schemas.relational import RESOLUTIONS, VIOLATION_STATES
    from spark_app.common.output import add_format_option

    violations = commands.add_parser(
        "violations", help="list stored violations; ack, resolve, the open ones per serial")
    violations.add_argument("--day", type=iso_day, metavar="YYYY-MM-DD",
                            help="violations whose instant falls on this UTC day")
    violations.add_argument("--rule", type=whole_number, metavar="ID")
    violations.add_argument("--serial", metavar="S")
    violations.add_argument("--state", choices=VIOLATION_STATES)
    add_format_option(violations)
    violations.add_argument("--all-columns", action="store_true",
                            help="also the other columns (the CSV has rule_id,"
                                 "serial_number,timestamp without it)")
    violations.set_defaults(handler=run_violations)
    steps = violations.add_subparsers(dest="violations_command", metavar="ACTION")
    ack = steps.add_parser("ack", help="acknowledge open violations (seen, someone is on it)")
    resolve = steps.add_parser("resolve", help="resolve open or acknowledged violations")
    for step in (ack, resolve):
        step.add_argument("ids", type=whole_number, nargs="+", metavar="ID")
        step.add_argument("--note", help="what was seen or done")
        step.add_argument("--by", help="who (default: the login name)")
    resolve.add_argument("--resolution", choices=RESOLUTIONS, default="repaired",
                         help="how it ended (default repaired)")
    ack.set_defaults(handler=run_violations_step, step="acknowledged")
    resolve.set_defaults(handler=run_violations_step, step="resolved")
    opened = steps.add_parser("open", help="violations not resolved yet, per serial, with age")
    add_format_option(opened)
    opened.set_defaults(handler=run_violations_open)
    explain = steps.add_parser(
        "explain", help="why violation ID exists: its rule version and witness faults")
    explain.add_argument("violation_id", type=whole_number, metavar="ID")
    add_format_option(explain)
    explain.set_defaults(handler=run_violations_explain)


def _add_rules_commands(commands) -> None:
    from schemas.relational import SEVERITIES
    from spark_app.common.output import add_format_option

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
    add.add_argument("--severity", choices=SEVERITIES, default="warning",
                     help="how urgent a violation is (default warning)")
    add.add_argument("--action", help="what to do about a violation (shown in the digest)")
    add.set_defaults(handler=run_rules_add)
    listing = rule_commands.add_parser("list", help="list stored rules")
    listing.add_argument("--active", action="store_true", help="only active rules")
    add_format_option(listing)
    listing.set_defaults(handler=run_rules_list)
    disable = rule_commands.add_parser("disable", help="deactivate a rule")
    disable.add_argument("rule_id", type=whole_number, metavar="ID")
    disable.set_defaults(handler=run_rules_disable)
    enable = rule_commands.add_parser("enable", help="activate a rule again")
    enable.add_argument("rule_id", type=int, metavar="ID")
    enable.set_defaults(handler=run_rules_enable)
    edit = rule_commands.add_parser(
        "edit", help="store a new version of a rule; earlier versions and their violations stay")
    edit.add_argument("rule_id", type=int, metavar="ID")
    edit.add_argument("--expression", metavar="EXPR")
    edit.add_argument("--description")
    edit.add_argument("--severity", choices=SEVERITIES,
                      help="the rule's severity from now on (not a new version)")
    edit.add_argument("--action", metavar="TEXT",
                      help="what to do about a violation, from now on (not a new version)")
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
        "import", help="import model,expression[,description,severity,action] rows, "
                       "all or nothing")
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
        rule_id = _rule_store(args).add(args.model, args.expression, args.description,
                                        args.severity, args.action)
    except ValueError as error:
        print(f"fleetwatch: rule refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(rule_id)
    return EXIT_OK


def run_rules_list(args) -> int:
    from spark_app.common.output import Column, write_listing

    rules = _rule_store(args).list(include_inactive=not args.active)
    records = [{"id": rule.id, "model": rule.model, "active": rule.active,
                "severity": rule.severity, "expression": rule.expression,
                "description": rule.description, "action": rule.action,
                "created_at": rule.created_at, "updated_at": rule.updated_at} for rule in rules]
    columns = (Column("id", align_right=True), Column("model"), Column("active"),
               Column("severity"), Column("expression"), Column("description"),
               Column("action"))
    write_listing(records, columns, args.format, sys.stdout, noun="rule")
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

    if all(value is None for value in (args.expression, args.description, args.severity,
                                        args.action)):
        print("fleetwatch: nothing to edit: give --expression, --description, --severity "
              "and/or --action", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        edit = _rule_store(args).edit(args.rule_id, args.expression, args.description,
                                      args.severity, args.action)
    except (RuleSyntaxError, ValueError) as error:
        print(f"fleetwatch: rule refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UnknownRule as error:
        print(f"fleetwatch: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if edit.changed:
        print(f"rule {edit.rule_id} is now at version {edit.version}")
    elif edit.attributes_changed:
        print(f"rule {edit.rule_id} still at version {edit.version}; severity and action set")
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
    config = load_config(args.config)
    status = run(config, days)
    if status != EXIT_OK or args.no_notify:
        return status
    from spark_app.people.notify import notify_days

    return notify_days(config, days, sys.stdout)


def run_violations(args) -> int:
    from spark_app.common.relational import engine_from_config
    from spark_app.daily.violation_report import ViolationFilter, print_violations, query_violations

    rows = query_violations(engine_from_config(load_config(args.config)),
                            ViolationFilter(day=args.day, rule_id=args.rule, serial=args.serial,
                                            state=args.state))
    print_violations(rows, args.format, sys.stdout, args.all_columns)
    return EXIT_OK


def run_violations_step(args) -> int:
    import getpass
    from datetime import UTC, datetime

    from spark_app.common.relational import engine_from_config
    from spark_app.daily.violation_lifecycle import Step, TransitionError, acknowledge, resolve

    engine = engine_from_config(load_config(args.config))
    step = Step(at=datetime.now(UTC), by=args.by or getpass.getuser(), note=args.note)
    try:
        if args.step == "acknowledged":
            acknowledge(engine, args.ids, step)
        else:
            resolve(engine, args.ids, step, args.resolution)
    except TransitionError as error:
        print(f"fleetwatch: nothing changed: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{len(set(args.ids))} violation(s) {args.step} by {step.by}")
    return EXIT_OK


def run_violations_open(args) -> int:
    from datetime import UTC, datetime

    from spark_app.common.relational import engine_from_config
    from spark_app.daily.violation_report import open_per_serial, print_open_per_serial

    records = open_per_serial(engine_from_config(load_config(args.config)), datetime.now(UTC))
    print_open_per_serial(records, args.format, sys.stdout)
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
    print_runs(runs_of(engine, args.day), args.format, sys.stdout)
    return EXIT_OK
