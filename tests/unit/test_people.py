"""The pure parts of the people box: which routes a violation goes to, when a
silence covers it, how a digest groups its violations."""

from datetime import UTC, datetime

import pytest

from spark_app.people.digest import ViolationGroup, assign, by_severity_rule_serial, plain_text
from spark_app.people.routes import RouteRule, default_route, parse_recipients, routes_for
from spark_app.people.silences import SilenceRule, silenced

NORTH = RouteRule(1, ("north@x.example",), site="north")
HYDRAULICS_WARN = RouteRule(2, ("hyd@x.example",), team="hydraulics", min_severity="warning")
CRITICAL = RouteRule(3, ("crit@x.example",), min_severity="critical")
KOM = RouteRule(4, ("kom@x.example",), model="KOM")
ROUTES = [NORTH, HYDRAULICS_WARN, CRITICAL, KOM]
DEFAULT = default_route(["ops@x.example"])


def ids(routes):
    return [route.id for route in routes]


@pytest.mark.parametrize("subject, expected", [
    (dict(site="north", team="hydraulics", model="JAP", severity="critical"), [1, 2, 3]),
    (dict(site="north", team="hydraulics", model="JAP", severity="warning"), [1, 2]),
    (dict(site="north", team="hydraulics", model="JAP", severity="info"), [1]),
    (dict(site="south", team="engines", model="KOM", severity="info"), [4]),
    (dict(site="south", team="engines", model="JAP", severity="warning"), [None]),
    # not in the registry: only routes without a site or team filter
    (dict(site=None, team=None, model="JAP", severity="critical"), [3]),
    (dict(site=None, team=None, model="JAP", severity="info"), [None]),
])
def test_a_violation_goes_to_every_route_it_matches_else_the_default(subject, expected):
    assert ids(routes_for(ROUTES, DEFAULT, **subject)) == expected


def test_no_routes_at_all_means_the_default_recipients():
    [route] = routes_for([], DEFAULT, site="north", team="a", model="JAP", severity="info")
    assert route.recipients == ("ops@x.example",) and route.key == "default"


def test_recipients_are_checked_addresses():
    assert parse_recipients("a@x.example, b@y.example") == ("a@x.example", "b@y.example")
    for bad in ("", "nobody", "a@x.example, two words@y"):
        with pytest.raises(ValueError):
            parse_recipients(bad)


def utc(*args):
    return datetime(*args)


SERIAL = SilenceRule(1, "JAP002", None, None, None, utc(2016, 11, 16), utc(2016, 11, 17), "pm")
SITE = SilenceRule(2, None, None, None, "south", utc(2016, 11, 16, 12), utc(2016, 11, 16, 13),
                   "storm")
EXPIRED = SilenceRule(3, None, "KOM", None, None, utc(2016, 11, 16), utc(2016, 11, 20), "x",
                      expired_at=utc(2016, 11, 16, 6))
RULE = SilenceRule(4, None, None, 7, None, utc(2016, 11, 16), utc(2016, 11, 17), "noisy rule")


@pytest.mark.parametrize("at, subject, expected", [
    (utc(2016, 11, 16, 10), dict(serial_number="JAP002"), True),
    (utc(2016, 11, 17, 0), dict(serial_number="JAP002"), False),  # ends_at is exclusive
    (utc(2016, 11, 15, 23, 59), dict(serial_number="JAP002"), False),
    (utc(2016, 11, 16, 12, 30), dict(serial_number="X", site="south"), True),
    (utc(2016, 11, 16, 13, 0), dict(serial_number="X", site="south"), False),
    (utc(2016, 11, 16, 5), dict(serial_number="K", model="KOM"), True),
    (utc(2016, 11, 16, 7), dict(serial_number="K", model="KOM"), False),  # expired early
    (utc(2016, 11, 16, 7), dict(serial_number="K", rule_id=7), True),
    (datetime(2016, 11, 16, 10, tzinfo=UTC), dict(serial_number="JAP002"), True),
])
def test_silences_cover_by_event_time_and_scope(at, subject, expected):
    assert silenced([SERIAL, SITE, EXPIRED, RULE], at, **subject) is expected


def group(severity, rule_id, serial, site="north", team="hydraulics", model="JAP", count=1):
    return ViolationGroup(severity, rule_id, model, f"action {rule_id}", serial, site, team,
                          count, utc(2016, 11, 16, 10), utc(2016, 11, 16, 11))


def test_groups_are_assigned_per_route_and_ordered_by_severity_rule_serial():
    groups = [group("info", 3, "KOM001", model="KOM", team="engines"),
              group("critical", 1, "JAP001", count=2), group("warning", 2, "JAP001"),
              group("critical", 1, "JAP000"), group("info", 5, "JAP009", site=None, team=None)]
    assigned = assign(groups, ROUTES, DEFAULT)
    assert {key: [(g.rule_id, g.serial_number) for g in found]
            for key, (_route, found) in assigned.items()} == {
        "route:4": [(3, "KOM001")], "route:1": [(3, "KOM001"), (1, "JAP001"), (2, "JAP001"),
                                                (1, "JAP000")],
        "route:2": [(1, "JAP001"), (2, "JAP001"), (1, "JAP000")],
        "route:3": [(1, "JAP001"), (1, "JAP000")], "default": [(5, "JAP009")]}
    sections = by_severity_rule_serial(assigned["route:1"][1])
    assert [(severity, [[g.serial_number for g in rule] for rule in rules])
            for severity, rules in sections] == [
        ("critical", [["JAP000", "JAP001"]]), ("warning", [["JAP001"]]), ("info", [["KOM001"]])]


def test_the_plain_text_lists_counts_actions_and_where():
    text = plain_text(datetime(2016, 11, 16).date(), HYDRAULICS_WARN,
                      [group("critical", 1, "JAP001", count=2), group("warning", 2, "JAP001")])
    assert text == (
        "fleetwatch digest of received day 2016-11-16, for route 2 (team hydraulics, "
        "severity warning and above)\n"
        "3 new violation(s) on 1 machine(s); silenced ones are not listed.\n"
        "Instants are UTC.\n\n"
        "CRITICAL (2)\n  rule 1 (JAP): 2 violation(s)\n    action: action 1\n"
        "    JAP001 (site north, team hydraulics): 2 at 2016-11-16 10:00:00 – "
        "2016-11-16 11:00:00\n\n"
        "WARNING (1)\n  rule 2 (JAP): 1 violation(s)\n    action: action 2\n"
        "    JAP001 (site north, team hydraulics): 1 at 2016-11-16 10:00:00 – "
        "2016-11-16 11:00:00\n")


def test_the_digest_links_to_the_days_report_when_reports_are_served():
    from spark_app.people.digest import html_text
    from spark_app.people.settings import ReportLink

    url = ReportLink("https://fleet.example/reports/").url_for(datetime(2016, 11, 16).date())
    assert url == "https://fleet.example/reports/2016-11-16.html"
    assert ReportLink("").url_for(datetime(2016, 11, 16).date()) is None
    text = plain_text(datetime(2016, 11, 16).date(), HYDRAULICS_WARN,
                      [group("warning", 2, "JAP001")], url)
    assert text.splitlines()[2:5] == [
        "Instants are UTC.", "The fleet report of the day: "
        "https://fleet.example/reports/2016-11-16.html", ""]
    page = html_text(datetime(2016, 11, 16).date(), HYDRAULICS_WARN,
                     [group("warning", 2, "JAP001")], "<chart@fleetwatch>", url)
    assert ('<p><a href="https://fleet.example/reports/2016-11-16.html">'
            "The fleet report of the day</a></p>") in page
