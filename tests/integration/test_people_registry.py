"""Severity and action on rules, the equipment registry, routes and silences
through the command line, on SQLite and on the real PostgreSQL."""

import json

from spark_app.common.relational import create_tables, engine_for_url
from tests.support.people import EQUIPMENT_CSV, fleetwatch


def init(db_url) -> dict[str, str]:
    engine = engine_for_url(db_url)
    create_tables(engine)
    engine.dispose()
    return {"FLEETWATCH_DATABASE_URL": db_url}


def as_json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_rules_carry_severity_and_action_from_add_and_import(db_url, tmp_path):
    env = init(db_url)
    added = fleetwatch(env, "rules", "add", "--model", "JAP", "--severity", "critical",
                       "--action", "Stop the machine", "#1.123.456.789")
    assert added.returncode == 0, added.stderr
    rules = tmp_path / "rules.csv"
    rules.write_text("model,expression,severity,action\nKOM,#A tti:5,info,Look at it\n"
                     "KOM,#B,,\n")
    assert fleetwatch(env, "rules", "import", str(rules)).returncode == 0
    listed = as_json(fleetwatch(env, "rules", "list", "--format", "json"))
    assert [(r["id"], r["model"], r["severity"], r["action"]) for r in listed] == [
        (1, "JAP", "critical", "Stop the machine"), (2, "KOM", "info", "Look at it"),
        (3, "KOM", "warning", None)]

    bad = tmp_path / "bad.csv"
    bad.write_text("model,expression,severity\nKOM,#C,urgent\nKOM,#D,info\n")
    refused = fleetwatch(env, "rules", "import", str(bad))
    assert refused.returncode == 2
    assert "line 2: severity must be one of critical, warning, info, got 'urgent'" \
        in refused.stderr
    assert len(as_json(fleetwatch(env, "rules", "list", "--format", "json"))) == 3


def test_the_registry_imports_all_or_nothing_and_again_changes_nothing(db_url, tmp_path):
    env = init(db_url)
    bad = tmp_path / "bad.csv"
    bad.write_text("serial_number,model,site,team,commissioned_on\n"
                   "JAP001,JAP,north,hydraulics,2015-03-01\n"
                   "JAP002,JAP,,engines,\n"
                   "JAP001,JAP,south,engines,\n"
                   "KOM001,KOM,north,engines,last year\n")
    refused = fleetwatch(env, "equipment", "import", str(bad))
    assert refused.returncode == 2
    assert refused.stderr == (
        "fleetwatch: nothing imported, 3 bad line(s):\n"
        "line 3: site must be 1 to 128 characters, got ''\n"
        "line 4: serial JAP001 again (first on line 2)\n"
        "line 5: commissioned_on must be a day YYYY-MM-DD, got 'last year'\n")
    assert as_json(fleetwatch(env, "equipment", "list", "--format", "json")) == []

    good = tmp_path / "equipment.csv"
    good.write_text(EQUIPMENT_CSV)
    first = fleetwatch(env, "equipment", "import", str(good))
    assert first.stdout == "imported 3 machine(s): 3 new, 0 updated\n"
    again = fleetwatch(env, "equipment", "import", str(good))
    assert again.stdout == "imported 3 machine(s): 0 new, 3 updated\n"
    listed = fleetwatch(env, "equipment", "list", "--format", "csv")
    assert listed.stdout == ("serial,model,site,team,commissioned_on,active\n"
                             "JAP001,JAP,north,hydraulics,2015-03-01,yes\n"
                             "JAP002,JAP,south,engines,,yes\n"
                             "KOM001,KOM,north,engines,2014-07-15,yes\n")


def test_routes_and_silences_are_added_listed_and_removed(db_url):
    env = init(db_url)
    assert fleetwatch(env, "routes", "add", "--to", "a@x.example,b@x.example", "--site", "north",
                      "--min-severity", "warning").stdout == "1\n"
    refused = fleetwatch(env, "routes", "add", "--to", "not an address")
    assert refused.returncode == 2 and "is not an e-mail address" in refused.stderr
    assert [(r["id"], r["recipients"], r["site"], r["min_severity"]) for r in as_json(
        fleetwatch(env, "routes", "list", "--format", "json"))] == [
        (1, "a@x.example,b@x.example", "north", "warning")]
    assert fleetwatch(env, "routes", "remove", "1").returncode == 0
    assert fleetwatch(env, "routes", "remove", "1").returncode == 2

    added = fleetwatch(env, "silence", "add", "--site", "south", "--from", "2016-11-16T00:00:00Z",
                       "--until", "2016-11-17T00:00:00Z", "--reason", "storm", "--by", "ana")
    assert added.stdout == "1\n", added.stderr
    backwards = fleetwatch(env, "silence", "add", "--site", "south", "--from",
                           "2016-11-17T00:00:00Z", "--until", "2016-11-16T00:00:00Z",
                           "--reason", "x")
    assert backwards.returncode == 2 and "is not after --from" in backwards.stderr
    no_rule = fleetwatch(env, "silence", "add", "--rule", "42", "--until",
                         "2099-01-01T00:00:00Z", "--reason", "x")
    assert no_rule.returncode == 2 and "no rule with id 42" in no_rule.stderr
    [silence] = as_json(fleetwatch(env, "silence", "list", "--format", "json"))
    assert (silence["scope"], silence["starts_at"], silence["ends_at"], silence["active"],
            silence["created_by"]) == ("site south", "2016-11-16T00:00:00.000Z",
                                       "2016-11-17T00:00:00.000Z", False, "ana")
    assert fleetwatch(env, "silence", "expire", "1").returncode == 0
    assert fleetwatch(env, "silence", "expire", "7").returncode == 2
