"""`fleetwatch purge` as typed, against the real Cassandra and a relational
job_runs: whole day partitions go, what the daily job may still read stays
(unless forced), a rerun deletes nothing, and every purge is recorded."""

import os
import subprocess
import sys
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import insert

from schemas.relational import JobRun
from spark_app.common.cassandra_session import apply_schema
from spark_app.common.config import load_config
from spark_app.common.relational import create_tables, engine_for_url

KEYSPACE = "fleetwatch_purge_test"
ENV = {"FLEETWATCH_CASSANDRA_KEYSPACE": KEYSPACE, "FLEETWATCH_CASSANDRA_SHARDS": "4"}
CSV_HEADER = "table,since,before,days,partitions,rows deleted,forced\n"
# (day received, shard, serial_number, tag)
FAULTS = [
    (date(2016, 11, 8), 1, "JAP00001", "#A"),
    (date(2016, 11, 9), 0, "JAP00002", "#A"),
    (date(2016, 11, 9), 0, "JAP00002", "#B"),
    (date(2016, 11, 9), 3, "JAP00003", "#A"),
    (date(2016, 11, 12), 2, "JAP00004", "#C"),
    (date(2016, 11, 14), 1, "JAP00005", "#A"),
    (date(2016, 11, 20), 0, "JAP00006", "#B"),
]


@pytest.fixture
def setup(cassandra, tmp_path):
    """A keyspace of its own with FAULTS, and a database where the daily job
    succeeded for 2016-11-09 … 2016-11-20 and failed for 2016-11-08."""
    url = f"sqlite:///{tmp_path / 'fleetwatch.db'}"
    env = {**ENV, "FLEETWATCH_DATABASE_URL": url}
    config = load_config(environ={**os.environ, **env})
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=60)
    apply_schema(config, cassandra)
    insert_fault = cassandra.prepare(
        f"INSERT INTO {KEYSPACE}.faults (day, shard, model, tag, serial_number, ts, received_at) "
        "VALUES (?, ?, 'JAP', ?, ?, ?, ?)")
    for day, shard, serial, tag in FAULTS:
        at = datetime(day.year, day.month, day.day, 10, 0)
        cassandra.execute(insert_fault, (day, shard, tag, serial, at, at))
    engine = engine_for_url(url)
    create_tables(engine)
    with engine.begin() as connection:
        connection.execute(insert(JobRun), [
            {"run_id": f"run-{day:%m%d}", "day": day, "started_at": datetime(2016, 12, 1),
             "status": "succeeded" if day.day >= 9 else "failed"}
            for day in (date(2016, 11, n) for n in range(8, 21))])
    engine.dispose()
    yield env
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=60)


def fleetwatch(env, *args):
    return subprocess.run([sys.executable, "-m", "spark_app.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300)


def remaining_faults(session):
    return sorted((row.day.date(), row.shard, row.serial_number, row.tag) for row in
                  session.execute(f"SELECT day, shard, serial_number, tag FROM {KEYSPACE}.faults"))


def recorded_purges(session):
    return [(row.before.date(), row.since.date(), row.days, row.partitions, row.rows, row.forced)
            for row in session.execute(
                f"SELECT before, since, days, partitions, rows, forced FROM {KEYSPACE}.purges "
                "WHERE table_name = 'faults'")]


def test_purge_deletes_whole_days_and_keeps_what_the_daily_job_needs(cassandra, setup):
    env = setup
    first_time = fleetwatch(env, "purge", "faults", "--before", "2016-11-13")
    assert first_time.returncode == 2
    assert first_time.stderr == (
        "fleetwatch: no purge of faults is recorded yet: say from which received day with "
        "--since YYYY-MM-DD (the oldest day it may hold)\n")

    # Last success 2016-11-20, horizon 7: the run of 11-21 may reread 11-14 … 11-20.
    into_horizon = fleetwatch(env, "purge", "faults", "--since", "2016-11-01",
                              "--before", "2016-11-15")
    assert into_horizon.returncode == 2
    assert into_horizon.stderr == (
        "fleetwatch: refusing to purge faults before 2016-11-15: the daily job's next run "
        "(day 2016-11-21) may read the faults received since 2016-11-14 (7 days of horizon): "
        "purge --before 2016-11-14 at the latest (--force purges anyway)\n")
    unprocessed = fleetwatch(env, "purge", "faults", "--since", "2016-11-01",
                             "--before", "2016-11-13")
    assert unprocessed.returncode == 2
    assert unprocessed.stderr == (
        "fleetwatch: refusing to purge faults before 2016-11-13: no daily run has succeeded "
        "yet for the faults received on 2016-11-08 (--force purges anyway)\n")
    assert remaining_faults(cassandra) == sorted(FAULTS)  # refusals delete nothing

    purged = fleetwatch(env, "purge", "faults", "--since", "2016-11-09", "--before",
                        "2016-11-13", "--format", "csv")
    assert (purged.returncode, purged.stderr) == (0, "")
    assert purged.stdout == CSV_HEADER + "faults,2016-11-09,2016-11-13,4,3,4,no\n"
    assert remaining_faults(cassandra) == [
        (date(2016, 11, 8), 1, "JAP00001", "#A"),
        (date(2016, 11, 14), 1, "JAP00005", "#A"),
        (date(2016, 11, 20), 0, "JAP00006", "#B")]

    # Again from where it stopped, and again over the same days: nothing left to delete.
    resumed = fleetwatch(env, "purge", "faults", "--before", "2016-11-13", "--format", "csv")
    assert resumed.stdout == CSV_HEADER + "faults,2016-11-13,2016-11-13,0,0,0,no\n"
    repeated = fleetwatch(env, "purge", "faults", "--since", "2016-11-09", "--before",
                          "2016-11-13", "--format", "csv")
    assert repeated.stdout == CSV_HEADER + "faults,2016-11-09,2016-11-13,4,0,0,no\n"

    forced = fleetwatch(env, "purge", "faults", "--since", "2016-11-01", "--before",
                        "2016-11-09", "--force")
    assert (forced.returncode, forced.stderr) == (0, "")
    assert forced.stdout == (
        "table   since       before      days  partitions  rows deleted  forced\n"
        "faults  2016-11-01  2016-11-09     8           1             1  yes\n"
        "(1 purge)\n")
    assert remaining_faults(cassandra) == [
        (date(2016, 11, 14), 1, "JAP00005", "#A"),
        (date(2016, 11, 20), 0, "JAP00006", "#B")]
    # The run of zeros over the same days is recorded too, newest boundary first.
    assert sorted(recorded_purges(cassandra), key=lambda row: (row[0], -row[4])) == [
        (date(2016, 11, 9), date(2016, 11, 1), 8, 1, 1, True),
        (date(2016, 11, 13), date(2016, 11, 9), 4, 3, 4, False),
        (date(2016, 11, 13), date(2016, 11, 9), 4, 0, 0, False)]


def test_purge_of_the_legacy_rejected_messages_deletes_its_days(cassandra, setup):
    insert_reject = cassandra.prepare(
        f"INSERT INTO {KEYSPACE}.rejected_messages (day, id, source, reason, payload) "
        "VALUES (?, ?, ?, 'bad line', '{')")
    for day, source in [(date(2016, 11, 1), "/in/a.jsonl:3"), (date(2016, 11, 1), "/in/a.jsonl:9"),
                        (date(2016, 11, 5), "/in/b.jsonl:1")]:
        cassandra.execute(insert_reject, (day, uuid.uuid1(), source))

    purged = fleetwatch(setup, "purge", "rejected_messages", "--since", "2016-10-30",
                        "--before", "2016-11-05", "--format", "json")
    assert (purged.returncode, purged.stderr) == (0, "")
    assert purged.stdout == (
        '[\n {\n  "table": "rejected_messages",\n  "since": "2016-10-30",\n'
        '  "before": "2016-11-05",\n  "days": 6,\n  "partitions": 1,\n  "rows": 2,\n'
        '  "forced": false\n }\n]\n')
    assert [(row.day.date(), row.source) for row in cassandra.execute(
        f"SELECT day, source FROM {KEYSPACE}.rejected_messages")] == [
        (date(2016, 11, 5), "/in/b.jsonl:1")]


def test_a_purge_before_the_schema_is_upgraded_is_refused(cassandra, setup):
    cassandra.execute(f"DELETE FROM {KEYSPACE}.schema_migrations "
                      "WHERE component = 'fleetwatch' AND version = 15")
    refused = fleetwatch(setup, "purge", "faults", "--since", "2016-11-01",
                         "--before", "2016-11-02")
    assert refused.returncode == 2
    assert refused.stderr == (f"fleetwatch: keyspace {KEYSPACE} is not at the latest schema: "
                              "run `fleetwatch db upgrade` first\n")
