"""`--format table|csv|json` of the listing commands of the relational store
(`violations`, `runs`, `rules list`), through the command line, on SQLite and
on the real PostgreSQL; and the CSV of `violations` others rely on."""

import json
import os
import subprocess
import sys
from datetime import date, datetime

import pytest
from sqlalchemy import create_engine, insert

from schemas.relational import JobRun, Rule, Violation
from spark_app.common.relational import create_tables


def fleetwatch(db_url, *args):
    return subprocess.run([sys.executable, "-m", "spark_app.cli", *args], capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "FLEETWATCH_DATABASE_URL": db_url})


@pytest.fixture
def stored(db_url):
    engine = create_engine(db_url)
    create_tables(engine)
    with engine.begin() as connection:
        connection.execute(insert(Rule), [
            {"id": 1, "model": "JAP", "expression": "#A E:60 #B", "active": True,
             "description": "thesis, example 1"},
            {"id": 2, "model": "KOM", "expression": "#C", "active": False, "description": None}])
        connection.execute(insert(Violation), [
            {"rule_id": 1, "serial_number": "JAP00200", "ts": datetime(2016, 11, 16, 13, 34),
             "detected_at": datetime(2016, 11, 17, 0, 31, 5)},
            {"rule_id": 1, "serial_number": "JAP00100", "ts": datetime(2016, 11, 16, 9, 0, 0, 250000),
             "detected_at": datetime(2016, 11, 17, 0, 31, 5)}])
        connection.execute(insert(JobRun), [
            {"run_id": "run-1", "day": date(2016, 11, 16), "started_at": datetime(2016, 11, 17, 0, 30),
             "finished_at": datetime(2016, 11, 17, 0, 31, 5), "status": "succeeded",
             "faults_read": 1200, "pending_read": 3, "violations_new": 2, "rules_skipped": "[]",
             "stage_metrics": None},
            {"run_id": "run-2", "day": date(2016, 11, 17), "started_at": datetime(2016, 11, 18, 0, 30),
             "finished_at": datetime(2016, 11, 18, 0, 30, 40), "status": "succeeded",
             "faults_read": 900, "pending_read": 0, "violations_new": 1,
             "rules_skipped": '[{"rule_id": 2, "reason": "line 1, column 4: unexpected"}]',
             "stage_metrics": '[{"name": "evaluate", "duration_s": 12.5, "tasks": 16}]'}])
    engine.dispose()
    return db_url


def test_the_violations_csv_is_the_stable_one_and_all_columns_add_the_rest(stored):
    csv = fleetwatch(stored, "violations", "--format", "csv")
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout == ("rule_id,serial_number,timestamp\n"
                          "1,JAP00100,2016-11-16T09:00:00.250Z\n"
                          "1,JAP00200,2016-11-16T13:34:00.000Z\n")
    every = fleetwatch(stored, "violations", "--format", "csv", "--all-columns")
    assert every.stdout == (
        "id,rule_id,rule_version,model,severity,serial_number,timestamp,detected_at,site,team,"
        "state,silenced\n"
        "2,1,1,JAP,warning,JAP00100,2016-11-16T09:00:00.250Z,2016-11-17T00:31:05.000Z,,,open,no\n"
        "1,1,1,JAP,warning,JAP00200,2016-11-16T13:34:00.000Z,2016-11-17T00:31:05.000Z,,,open,no\n")


def test_violations_as_a_table_and_as_json(stored):
    assert fleetwatch(stored, "violations").stdout == (
        "id  rule  model  severity  serial    timestamp                 site  team  state  silenced\n"
        " 2     1  JAP    warning   JAP00100  2016-11-16T09:00:00.250Z  -     -     open   no\n"
        " 1     1  JAP    warning   JAP00200  2016-11-16T13:34:00.000Z  -     -     open   no\n"
        "(2 violations)\n")
    assert json.loads(fleetwatch(stored, "violations", "--format", "json",
                                 "--serial", "JAP00200").stdout) == [
        {"id": 1, "rule_id": 1, "rule_version": 1, "model": "JAP", "severity": "warning",
         "serial_number": "JAP00200", "timestamp": "2016-11-16T13:34:00.000Z",
         "detected_at": "2016-11-17T00:31:05.000Z", "site": None, "team": None, "state": "open",
         "silenced": False}]


def test_runs_in_every_format(stored):
    assert fleetwatch(stored, "runs", "--day", "2016-11-16").stdout == (
        "day         status     faults  pending  new  started                   run id\n"
        "2016-11-16  succeeded    1200        3    2  2016-11-17T00:30:00.000Z  run-1\n"
        "(1 run)\n")
    assert fleetwatch(stored, "runs", "--format", "csv").stdout == (
        "day,status,faults,pending,new,started,run id\n"
        "2016-11-17,succeeded,900,0,1,2016-11-18T00:30:00.000Z,run-2\n"
        "2016-11-16,succeeded,1200,3,2,2016-11-17T00:30:00.000Z,run-1\n")
    # the columns job_runs keeps as JSON text come out as JSON, not as strings
    assert json.loads(fleetwatch(stored, "runs", "--format", "json").stdout) == [
        {"run_id": "run-2", "day": "2016-11-17", "started_at": "2016-11-18T00:30:00.000Z",
         "finished_at": "2016-11-18T00:30:40.000Z", "status": "succeeded", "faults_read": 900,
         "pending_read": 0, "violations_new": 1,
         "rules_skipped": [{"rule_id": 2, "reason": "line 1, column 4: unexpected"}],
         "stage_metrics": [{"name": "evaluate", "duration_s": 12.5, "tasks": 16}],
         "error": None},
        {"run_id": "run-1", "day": "2016-11-16", "started_at": "2016-11-17T00:30:00.000Z",
         "finished_at": "2016-11-17T00:31:05.000Z", "status": "succeeded", "faults_read": 1200,
         "pending_read": 3, "violations_new": 2, "rules_skipped": [], "stage_metrics": None,
         "error": None}]


def test_rules_list_in_every_format(stored):
    assert fleetwatch(stored, "rules", "list").stdout == (
        "id  model  active  severity  expression  description        action\n"
        " 1  JAP    yes     warning   #A E:60 #B  thesis, example 1  -\n"
        " 2  KOM    no      warning   #C          -                  -\n"
        "(2 rules)\n")
    assert fleetwatch(stored, "rules", "list", "--active", "--format", "csv").stdout == (
        "id,model,active,severity,expression,description,action\n"
        '1,JAP,yes,warning,#A E:60 #B,"thesis, example 1",\n')
    listed = json.loads(fleetwatch(stored, "rules", "list", "--format", "json").stdout)
    assert [{key: value for key, value in rule.items() if not key.endswith("_at")}
            for rule in listed] == [
        {"id": 1, "model": "JAP", "active": True, "severity": "warning",
         "expression": "#A E:60 #B", "description": "thesis, example 1", "action": None},
        {"id": 2, "model": "KOM", "active": False, "severity": "warning", "expression": "#C",
         "description": None, "action": None}]
    assert all(rule["created_at"].endswith("Z") and rule["updated_at"] for rule in listed)
