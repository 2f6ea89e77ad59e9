"""spark-submit as the README types it, at the clone's root in a shell where the
venv is not activated: the daily job (on the suite's Cassandra) and the stream
(on a folder of files) run, the submitter's --name, --conf and
spark-defaults.conf win, and fleetwatch fills in what they leave unset. Each
run's settings are read back from the event log Spark wrote."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from schemas.faults import Fault
from schemas.relational import JobRun, Rule
from spark_app.common.relational import create_tables
from spark_app.services.process import free_port
from tests.support.daily_data import SHARDS, write_faults
from tests.support.stream import (
    drop_file,
    reading_lines,
    stream_config,
    stream_environment,
    unique_id,
)

PROJECT = Path(__file__).resolve().parents[2]
SUBMIT = ".venv/bin/spark-submit"
# What a new terminal may hold that makes the crash go away: an activated venv, a Spark.
NOT_IN_A_FRESH_SHELL = ("VIRTUAL_ENV", "SPARK_HOME", "SPARK_CONF_DIR", "PYSPARK_PYTHON",
                        "PYSPARK_DRIVER_PYTHON", "PYSPARK_GATEWAY_PORT", "PYSPARK_GATEWAY_SECRET")


def readme_command(section: str, script: str) -> str:
    """The local spark-submit command of the README's `section` that runs `script`."""
    text = (PROJECT / "README.md").read_text()
    start = text.index(f"\n## {section}\n")
    body = text[start:text.index("\n## ", start + 1)]
    [command] = [block for block in re.findall(r"```sh\n(.*?)```", body, re.S)
                 if "--master 'local[2]'" in block and script in block]
    return command


def fresh_shell(**variables: str) -> dict[str, str]:
    """This process's environment (the suite's FLEETWATCH_* ports and keyspace) as
    a new terminal has it: no venv on PATH, no Spark of its own."""
    venv_bin = (PROJECT / ".venv" / "bin").resolve()
    env = {key: value for key, value in os.environ.items() if key not in NOT_IN_A_FRESH_SHELL}
    env["PATH"] = os.pathsep.join(
        entry for entry in env["PATH"].split(os.pathsep) if Path(entry).resolve() != venv_bin)
    return {**env, **variables}


def submit(command: str, env: dict[str, str], *options: str) -> subprocess.CompletedProcess:
    """Runs the README's `command` with the submitter's own `options` added."""
    command = command.replace(SUBMIT, shlex.join([SUBMIT, *options]), 1)
    result = subprocess.run(["bash", "-c", command], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def event_log(directory: Path) -> tuple[str, dict[str, str]]:
    """The application name and the Spark properties of the one run logged in `directory`."""
    [log] = [path for path in directory.iterdir() if not path.name.startswith(".")]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    [start] = [event for event in events if event["Event"] == "SparkListenerApplicationStart"]
    [environment] = [event for event in events
                     if event["Event"] == "SparkListenerEnvironmentUpdate"]
    return start["App Name"], environment["Spark Properties"]


@pytest.fixture
def one_violation_on_2016_11_18(cassandra, config, tmp_path):
    """The database URL of a rule #A E:60 #B, and faults of 2016-11-18 it matches once."""
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    db_url = f"sqlite:///{tmp_path / 'fleetwatch.db'}"
    engine = create_engine(db_url)
    create_tables(engine)
    with Session(engine) as session, session.begin():
        session.add(Rule(model="JAP", expression="#A E:60 #B"))
    engine.dispose()
    first = datetime(2016, 11, 18, 10, 0, tzinfo=UTC)
    second = datetime(2016, 11, 18, 10, 0, 30, tzinfo=UTC)
    write_faults(cassandra, config, [Fault.of("JAP00001", "JAP", "#A", first, first, SHARDS),
                                     Fault.of("JAP00001", "JAP", "#B", second, second, SHARDS)])
    return db_url


def the_run_of_2016_11_18(db_url: str) -> tuple[str, int, int]:
    engine = create_engine(db_url)
    with Session(engine) as session:
        [run] = session.query(JobRun).all()
        found = (run.status, run.faults_read, run.violations_new)
    engine.dispose()
    return found


@pytest.mark.slow
def test_the_daily_job_keeps_the_submitters_name_and_conf(one_violation_on_2016_11_18, config,
                                                          tmp_path):
    events = tmp_path / "events"
    events.mkdir()
    ui_port = free_port()
    result = submit(readme_command("The daily job", "spark_app/daily/entry.py"),
                    fresh_shell(FLEETWATCH_DATABASE_URL=one_violation_on_2016_11_18),
                    "--name", "nightly-check", "--conf", f"spark.eventLog.dir={events.as_uri()}",
                    "--conf", "spark.sql.shuffle.partitions=3",
                    "--conf", f"spark.ui.port={ui_port}")
    assert "[1/1] 2016-11-18: 2 faults, 0 pending, 1 violations found, 1 new" in result.stdout
    assert the_run_of_2016_11_18(one_violation_on_2016_11_18) == ("succeeded", 2, 1)
    name, properties = event_log(events)
    assert name == "nightly-check"
    assert properties["spark.sql.shuffle.partitions"] == "3"
    assert properties["spark.ui.port"] == str(ui_port)
    assert properties["spark.eventLog.dir"] == events.as_uri()
    # what the submitter left unset is fleetwatch's
    assert properties["spark.sql.session.timeZone"] == "UTC"
    assert properties["spark.cassandra.connection.port"] == str(config.get("cassandra", "port"))


@pytest.mark.slow
def test_the_daily_job_keeps_spark_defaults_and_is_named_after_its_day(
        one_violation_on_2016_11_18, tmp_path):
    events, spark_conf_dir = tmp_path / "events", tmp_path / "spark-conf"
    events.mkdir()
    spark_conf_dir.mkdir()
    (spark_conf_dir / "spark-defaults.conf").write_text(
        f"spark.eventLog.dir {events.as_uri()}\nspark.sql.shuffle.partitions 5\n")
    submit(readme_command("The daily job", "spark_app/daily/entry.py"),
           fresh_shell(FLEETWATCH_DATABASE_URL=one_violation_on_2016_11_18,
                       SPARK_CONF_DIR=str(spark_conf_dir)))
    assert the_run_of_2016_11_18(one_violation_on_2016_11_18) == ("succeeded", 2, 1)
    name, properties = event_log(events)
    assert name == "fleetwatch-daily-2016-11-18"
    assert properties["spark.sql.shuffle.partitions"] == "5"


@pytest.mark.slow
def test_the_stream_runs_with_fleetwatchs_settings_where_the_submitter_set_none(
        cassandra, tmp_path):
    smtp_port = free_port()
    events = tmp_path / "stream events"  # a URI as given: file:// and %20 included
    events.mkdir()
    settings = {"FLEETWATCH_SPARK_EVENT_LOG_DIR": events.as_uri(),
                "FLEETWATCH_SPARK_SHUFFLE_PARTITIONS": "6"}
    stream_config(tmp_path, smtp_port, **settings)  # creates the relational tables
    drop_file(tmp_path / "readings", "cool.jsonl",
              reading_lines(unique_id("EQ-SUBMIT"), "JAP", 0, 5, 40.0))
    variables = {key: value for key, value in
                 stream_environment(tmp_path, smtp_port, **settings).items()
                 if key.startswith("FLEETWATCH_")}
    result = submit(readme_command("The temperature stream", "spark_app/stream/entry.py"),
                    fresh_shell(**variables))
    assert "readings: 10 accepted, 0 rejected" in result.stdout
    name, properties = event_log(events)
    assert name == "fleetwatch-stream"
    assert properties["spark.eventLog.dir"] == events.as_uri()
    assert properties["spark.sql.shuffle.partitions"] == "6"
