"""`fleetwatch equipment`, `routes`, `silence` and `notify`: who the fleet's
violations reach. Light to import: the work is imported when run."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime

from schemas.relational import SEVERITIES
from spark_app.common.cli_args import EXIT_BAD_INPUT, EXIT_OK, iso_day, iso_instant
from spark_app.common.config import load_config
from spark_app.common.output import Column, add_format_option, write_listing


def add_commands(commands) -> None:
    _add_equipment(commands)
    _add_routes(commands)
    _add_silences(commands)
    notify = commands.add_parser("notify", help="send each route's digest of a received day")
    notify.add_argument("--day", required=True, type=iso_day, metavar="YYYY-MM-DD",
                        help="the received day whose new violations the digests list")
    notify.add_argument("--force", action="store_true",
                        help="send even if the day is older than notify.max_age_days "
                             "(never a digest already sent)")
    notify.set_defaults(handler=run_notify)


def _add_equipment(commands) -> None:
    equipment = commands.add_parser("equipment", help="the equipment registry")
    actions = equipment.add_subparsers(dest="equipment_command", required=True, metavar="ACTION")
    importing = actions.add_parser(
        "import", help="import serial_number,model,site,team[,commissioned_on] rows, "
                       "all or nothing")
    importing.add_argument("path", metavar="FILE.csv")
    importing.set_defaults(handler=run_equipment_import)
    listing = actions.add_parser("list", help="list the registry")
    add_format_option(listing)
    listing.set_defaults(handler=run_equipment_list)


def _add_routes(commands) -> None:
    routes = commands.add_parser("routes", help="who is told about which violations")
    actions = routes.add_subparsers(dest="routes_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a route")
    add.add_argument("--to", required=True, metavar="EMAIL[,EMAIL…]")
    add.add_argument("--site")
    add.add_argument("--team")
    add.add_argument("--model")
    add.add_argument("--min-severity", choices=SEVERITIES, default="info",
                     help="the least severe violations the route takes (default info: all)")
    add.set_defaults(handler=run_routes_add)
    listing = actions.add_parser("list", help="list the routes")
    add_format_option(listing)
    listing.set_defaults(handler=run_routes_list)
    remove = actions.add_parser("remove", help="remove a route")
    remove.add_argument("route_id", type=int, metavar="ID")
    remove.set_defaults(handler=run_routes_remove)


def _add_silences(commands) -> None:
    silence = commands.add_parser("silence", help="withhold notifications for a while")
    actions = silence.add_subparsers(dest="silence_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="silence one serial, model, rule or site")
    scope = add.add_mutually_exclusive_group(required=True)
    scope.add_argument("--serial")
    scope.add_argument("--model")
    scope.add_argument("--rule", type=int, metavar="ID")
    scope.add_argument("--site")
    add.add_argument("--from", dest="starts", type=iso_instant, metavar="ISO8601",
                     help="start (event time; default now)")
    add.add_argument("--until", required=True, type=iso_instant, metavar="ISO8601")
    add.add_argument("--reason", required=True)
    add.add_argument("--by", help="who (default: the login name)")
    add.set_defaults(handler=run_silence_add)
    listing = actions.add_parser("list", help="list the silences")
    add_format_option(listing)
    listing.set_defaults(handler=run_silence_list)
    expire = actions.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id", type=int, metavar="ID")
    expire.set_defaults(handler=run_silence_expire)


def _engine(args):
    from spark_app.common.relational import engine_from_config

    return engine_from_config(load_config(args.config))


def run_equipment_import(args) -> int:
    from spark_app.people.registry import EquipmentImportError, EquipmentRegistry

    try:
        result = EquipmentRegistry(_engine(args)).import_csv(args.path)
    except EquipmentImportError as error:
        print(f"fleetwatch: nothing imported, {len(error.problems)} bad line(s):",
              file=sys.stderr)
        print(str(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError:
        print(f"fleetwatch: no such file: {args.path}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"imported {result.added + result.updated} machine(s): {result.added} new, "
          f"{result.updated} updated")
    return EXIT_OK


EQUIPMENT_COLUMNS = (Column("serial_number", "serial"), Column("model"), Column("site"),
                     Column("team"), Column("commissioned_on"), Column("active"))


def run_equipment_list(args) -> int:
    from spark_app.people.registry import EquipmentRegistry

    write_listing(EquipmentRegistry(_engine(args)).list(), EQUIPMENT_COLUMNS, args.format,
                  sys.stdout, noun="machine")
    return EXIT_OK


def run_routes_add(args) -> int:
    from spark_app.people.routes import RouteStore

    try:
        route_id = RouteStore(_engine(args)).add(args.to, site=args.site, team=args.team,
                                                 model=args.model,
                                                 min_severity=args.min_severity)
    except ValueError as error:
        print(f"fleetwatch: route refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(route_id)
    return EXIT_OK


ROUTE_COLUMNS = (Column("id", align_right=True), Column("recipients"), Column("site"),
                 Column("team"), Column("model"), Column("min_severity"))


def run_routes_list(args) -> int:
    from spark_app.people.routes import RouteStore

    records = [route.record() for route in RouteStore(_engine(args)).list()]
    write_listing(records, ROUTE_COLUMNS, args.format, sys.stdout, noun="route")
    return EXIT_OK


def run_routes_remove(args) -> int:
    from spark_app.people.routes import RouteStore

    if not RouteStore(_engine(args)).remove(args.route_id):
        print(f"fleetwatch: no route with id {args.route_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"route {args.route_id} removed")
    return EXIT_OK


def run_silence_add(args) -> int:
    from spark_app.people.silences import SilenceStore

    try:
        silence_id = SilenceStore(_engine(args)).add(
            until=args.until, reason=args.reason, starts=args.starts or datetime.now(UTC),
            serial_number=args.serial, model=args.model, rule_id=args.rule, site=args.site,
            created_by=args.by or getpass.getuser())
    except ValueError as error:
        print(f"fleetwatch: silence refused: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(silence_id)
    return EXIT_OK


SILENCE_COLUMNS = (Column("id", align_right=True), Column("scope"), Column("starts_at"),
                   Column("ends_at"), Column("expired_at"), Column("active"), Column("reason"),
                   Column("created_by", "by"))


def run_silence_list(args) -> int:
    from spark_app.people.silences import SilenceStore

    now = datetime.now(UTC)
    records = [silence.record(now) for silence in SilenceStore(_engine(args)).list()]
    write_listing(records, SILENCE_COLUMNS, args.format, sys.stdout, noun="silence")
    return EXIT_OK


def run_silence_expire(args) -> int:
    from spark_app.people.silences import SilenceStore

    if not SilenceStore(_engine(args)).expire(args.silence_id, datetime.now(UTC)):
        print(f"fleetwatch: no silence with id {args.silence_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"silence {args.silence_id} expired")
    return EXIT_OK


def run_notify(args) -> int:
    from spark_app.people.notify import notify_days

    return notify_days(load_config(args.config), [args.day], sys.stdout, force=args.force)
