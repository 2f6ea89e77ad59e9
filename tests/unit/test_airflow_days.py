"""The daily DAG's one definition of its day, and of its first day, and how a
task runs `fleetwatch` (dags/fleetwatch_tasks.py needs no Airflow for these)."""

import logging
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tests.support.airflow_dags import fleetwatch_tasks

daily_start, received_day = fleetwatch_tasks().daily_start, fleetwatch_tasks().received_day


def _run(data_interval_end, run_after):
    return SimpleNamespace(data_interval_end=data_interval_end, run_after=run_after)


def test_the_run_due_at_00_30_processes_the_day_that_ended():
    due = datetime(2016, 11, 18, 0, 30, tzinfo=UTC)
    assert received_day(_run(due, due)) == date(2016, 11, 17)


def test_a_late_run_still_processes_the_day_of_its_interval():
    run = _run(datetime(2016, 11, 18, 0, 30, tzinfo=UTC), datetime(2016, 11, 21, 9, tzinfo=UTC))
    assert received_day(run) == date(2016, 11, 17)


def test_the_day_is_the_utc_one_whatever_the_zone_of_the_interval():
    paris = timezone(timedelta(hours=1))
    assert received_day(_run(datetime(2016, 11, 18, 1, 30, tzinfo=paris), None)) == \
        date(2016, 11, 17)


def test_a_run_triggered_without_logical_date_processes_the_day_before_it():
    assert received_day(_run(None, datetime(2016, 11, 18, 9, 15, tzinfo=UTC))) == \
        date(2016, 11, 17)


def test_the_first_day_is_midnight_utc_of_fleetwatch_daily_start():
    assert daily_start("2016-11-16") == datetime(2016, 11, 16, tzinfo=UTC)


@pytest.mark.parametrize("unset", [None, ""])
def test_no_first_day_without_fleetwatch_daily_start(unset):
    assert daily_start(unset) is None


def test_a_first_day_that_is_no_date_is_refused_by_name():
    with pytest.raises(ValueError, match=r"FLEETWATCH_DAILY_START='16/11/2016' is not an ISO date"):
        daily_start("16/11/2016")


def test_every_cassandra_extra_key_is_a_setting_or_a_secret_of_fleetwatch():
    from spark_app.common.config import SECRET_KEYS, load_config

    keys = set(load_config(environ={}).values["cassandra"]) | {
        key for section, key in SECRET_KEYS if section == "cassandra"}
    assert set(fleetwatch_tasks().CASSANDRA_EXTRA) <= keys


def test_every_smtp_extra_key_is_a_setting_of_fleetwatch():
    from spark_app.common.config import load_config

    assert set(fleetwatch_tasks().SMTP_EXTRA) <= set(load_config(environ={}).values["smtp"])


def test_a_task_logs_each_line_of_fleetwatch_as_it_comes(tmp_path, monkeypatch, caplog):
    """The tasks' `fleetwatch` runs in a subprocess: each line reaches the task
    log when printed, not when the process ends (a long pull shows its progress)."""
    program = tmp_path / ".venv" / "bin" / "fleetwatch"
    program.parent.mkdir(parents=True)
    # Python, like fleetwatch: its prints to a pipe are block-buffered unless unbuffered.
    program.write_text(f"#!{sys.executable}\nimport sys, time\nprint('page 1 written')\n"
                       "time.sleep(2)\nprint('the feed is late', file=sys.stderr)\n"
                       "print('ingested 2 pages')\n")
    program.chmod(0o755)
    monkeypatch.setenv("FLEETWATCH_HOME", str(tmp_path))
    tasks = fleetwatch_tasks()
    with caplog.at_level(logging.INFO, logger=tasks.log.name):
        output = tasks.run_fleetwatch("ingest", "http://feed", env={})
    lines = {record.getMessage(): record.created for record in caplog.records}
    assert output == "page 1 written\ningested 2 pages\n"
    assert set(lines) == {f"running {program} ingest http://feed", "page 1 written",
                          "the feed is late", "ingested 2 pages"}
    assert lines["the feed is late"] - lines["page 1 written"] >= 1.5


def test_a_failed_fleetwatch_fails_the_task_with_its_stderr(tmp_path, monkeypatch):
    program = tmp_path / ".venv" / "bin" / "fleetwatch"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\necho 'fleetwatch: Cassandra is not reachable' >&2\nexit 1\n")
    program.chmod(0o755)
    monkeypatch.setenv("FLEETWATCH_HOME", str(tmp_path))
    tasks = fleetwatch_tasks()
    with pytest.raises(tasks.FleetwatchFailed,
                       match="fleetwatch health exited with 1: fleetwatch: Cassandra is not "
                             "reachable$") as failure:
        tasks.run_fleetwatch("health", env={})
    assert failure.value.returncode == 1


def _connection(conn_type, extra=None, **fields):
    import json

    values = {"host": None, "port": None, "login": None, "password": None, "schema": None,
              **fields}
    return SimpleNamespace(conn_type=conn_type, extra_dejson=extra or {},
                           get_uri=lambda: json.dumps(values), **values)


def test_a_postgres_connection_becomes_a_psycopg_url_with_its_secrets_quoted():
    database = _connection("postgres", {"sslmode": "verify-full"}, host="db.internal",
                           port=5433, login="fleet watch", password="p@ss/word",
                           schema="fleetwatch")
    assert fleetwatch_tasks().database_url(database) == (
        "postgresql+psycopg://fleet%20watch:p%40ss%2Fword@db.internal:5433/fleetwatch"
        "?sslmode=verify-full")


def test_the_url_of_the_extra_comes_first():
    database = _connection("postgres", {"url": "sqlite:////srv/fleetwatch.db"}, host="db")
    assert fleetwatch_tasks().database_url(database) == "sqlite:////srv/fleetwatch.db"
