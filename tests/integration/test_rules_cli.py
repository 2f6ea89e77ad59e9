"""`fleetwatch rules add|list|disable|import` through a subprocess, on SQLite
and on the real PostgreSQL."""

import os
import subprocess
import sys


def fleetwatch(db_url, *args):
    return subprocess.run([sys.executable, "-m", "spark_app.cli", "rules", *args],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FLEETWATCH_DATABASE_URL": db_url})


def init_tables(db_url):
    from sqlalchemy import create_engine

    from spark_app.common.relational import create_tables
    engine = create_engine(db_url)
    create_tables(engine)
    engine.dispose()


def test_add_list_disable(db_url):
    init_tables(db_url)
    added = fleetwatch(db_url, "add", "--model", "JAP", "#1.123.456.789 tti:120",
                       "--description", "thesis example 1")
    assert added.returncode == 0, added.stderr
    rule_id = int(added.stdout.strip())
    listed = fleetwatch(db_url, "list")
    assert "#1.123.456.789 tti:120" in listed.stdout and "thesis example 1" in listed.stdout
    assert fleetwatch(db_url, "disable", str(rule_id)).returncode == 0
    assert "#1.123.456.789" not in fleetwatch(db_url, "list", "--active").stdout
    missing = fleetwatch(db_url, "disable", "424242")
    assert missing.returncode == 2 and "424242" in missing.stderr


def test_an_invalid_rule_is_refused_with_its_column(db_url):
    init_tables(db_url)
    refused = fleetwatch(db_url, "add", "--model", "JAP", "#A OU")
    assert refused.returncode == 2
    assert "column" in refused.stderr and refused.stdout == ""
    assert "#A" not in fleetwatch(db_url, "list").stdout


def test_import_reports_every_bad_line_and_stores_nothing(db_url, tmp_path):
    init_tables(db_url)
    path = tmp_path / "rules.csv"
    path.write_text("model,expression\nJAP,#A E:10 #B\nJAP,#A #B\nKOM,#C tti:5 OU #D\n")
    result = fleetwatch(db_url, "import", str(path))
    assert result.returncode == 2
    assert "line 3" in result.stderr and "line 4" in result.stderr and "line 2" not in result.stderr
    assert "#A E:10 #B" not in fleetwatch(db_url, "list").stdout


def test_edit_keeps_every_version_and_history_lists_them(db_url):
    import json

    init_tables(db_url)
    rule_id = fleetwatch(db_url, "add", "--model", "JAP", "#1.168.861.4 E:1h #1.174.456.29",
                         "--description", "first try").stdout.strip()
    edited = fleetwatch(db_url, "edit", rule_id, "--expression",
                        "#1.168.861.4 E:1h #1.174.456.29 tti:1d")
    assert (edited.returncode, edited.stdout) == (0, f"rule {rule_id} is now at version 2\n")
    described = fleetwatch(db_url, "edit", rule_id, "--description", "one a day")
    assert described.stdout == f"rule {rule_id} is now at version 3\n"
    same = fleetwatch(db_url, "edit", rule_id, "--description", "one a day")
    assert same.stdout == f"rule {rule_id} unchanged at version 3\n"
    history = json.loads(fleetwatch(db_url, "history", rule_id, "--format", "json").stdout)
    assert [(v["version"], v["expression"], v["description"]) for v in history] == [
        (1, "#1.168.861.4 E:1h #1.174.456.29", "first try"),
        (2, "#1.168.861.4 E:1h #1.174.456.29 tti:1d", "first try"),
        (3, "#1.168.861.4 E:1h #1.174.456.29 tti:1d", "one a day")]
    assert all(v["created_at"].endswith("Z") for v in history)
    table = fleetwatch(db_url, "history", rule_id).stdout
    assert table.splitlines()[0].split() == ["version", "created_at", "expression", "description"]
    assert table.endswith("(3 versions)\n")
    assert "#1.168.861.4 E:1h #1.174.456.29 tti:1d" in fleetwatch(db_url, "list").stdout


def test_a_broken_edit_stores_nothing_and_says_where(db_url):
    init_tables(db_url)
    rule_id = fleetwatch(db_url, "add", "--model", "JAP", "#A E:10 #B").stdout.strip()
    refused = fleetwatch(db_url, "edit", rule_id, "--expression", "#A E:10")
    assert refused.returncode == 2 and "column 8" in refused.stderr
    assert fleetwatch(db_url, "edit", "424242", "--description", "x").returncode == 2
    assert fleetwatch(db_url, "edit", rule_id).returncode == 2
    history = fleetwatch(db_url, "history", rule_id, "--format", "csv").stdout.splitlines()
    assert len(history) == 2 and history[1].startswith("1,")


def test_disable_then_enable(db_url):
    init_tables(db_url)
    rule_id = fleetwatch(db_url, "add", "--model", "JAP", "#A").stdout.strip()
    fleetwatch(db_url, "disable", rule_id)
    assert "#A" not in fleetwatch(db_url, "list", "--active").stdout
    enabled = fleetwatch(db_url, "enable", rule_id)
    assert (enabled.returncode, enabled.stdout) == (0, f"rule {rule_id} enabled\n")
    assert "#A" in fleetwatch(db_url, "list", "--active").stdout
    assert fleetwatch(db_url, "enable", "424242").returncode == 2


def test_severity_and_action_are_set_in_place_without_a_new_version(db_url):
    import json

    init_tables(db_url)
    rule_id = fleetwatch(db_url, "add", "--model", "JAP", "#A E:10 #B").stdout.strip()
    edited = fleetwatch(db_url, "edit", rule_id, "--severity", "critical", "--action",
                        "Stop the machine")
    assert (edited.returncode, edited.stdout) == (
        0, f"rule {rule_id} still at version 1; severity and action set\n")
    both = fleetwatch(db_url, "edit", rule_id, "--expression", "#A E:20 #B", "--action", "")
    assert both.stdout == f"rule {rule_id} is now at version 2\n"
    [rule] = json.loads(fleetwatch(db_url, "list", "--format", "json").stdout)
    assert (rule["severity"], rule["action"], rule["expression"]) == (
        "critical", None, "#A E:20 #B")
    history = json.loads(fleetwatch(db_url, "history", rule_id, "--format", "json").stdout)
    assert [v["version"] for v in history] == [1, 2]
    refused = fleetwatch(db_url, "edit", rule_id, "--severity", "urgent")
    assert refused.returncode == 2 and "invalid choice: 'urgent'" in refused.stderr
