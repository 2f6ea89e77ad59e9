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
