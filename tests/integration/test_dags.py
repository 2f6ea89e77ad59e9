"""The Airflow DAGs for real: DagBag imports them, and `dag.test()` runs them
in Airflow's own virtualenv against the simulated feed on loopback, the real
Cassandra, and spark-submit of the daily job."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from schemas.relational import JobRun, Rule
from spark_app.common.relational import create_tables
from spark_app.ingest.run import ingest
from spark_app.sim.faults import FleetSpec, feed_records, simulate_faults, write_jsonl
from spark_app.sim.feed import SimulatedFeed
from tests.support.airflow_dags import AIRFLOW_PYTHON, AirflowDeployment, AirflowHome
from tests.support.ingest import (
    cursor_of,
    days_of,
    expected_keys,
    fault_keys,
    ingest_config,
    rejections,
)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not AIRFLOW_PYTHON.exists(), reason="make airflow installs .venv-airflow")]


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory, cassandra):
    return tmp_path_factory.mktemp("airflow")


def test_dagbag_imports_both_dags(airflow_home):
    home = AirflowHome(airflow_home / "bag")
    assert home.import_errors() == {}


def test_daily_runs_are_due_after_their_day_and_submit_that_day(airflow_home):
    home = AirflowHome(airflow_home / "schedule",
                       extra_env={"FLEETWATCH_DAILY_START": "2016-11-16"})
    assert home.scheduled_runs("fleetwatch_daily", 3) == [
        {"run_after": "2016-11-17T00:30:00+00:00",
         "data_interval": ["2016-11-16T00:30:00+00:00", "2016-11-17T00:30:00+00:00"],
         "application_args": ["--day", "2016-11-16"]},
        {"run_after": "2016-11-18T00:30:00+00:00",
         "data_interval": ["2016-11-17T00:30:00+00:00", "2016-11-18T00:30:00+00:00"],
         "application_args": ["--day", "2016-11-17"]},
        {"run_after": "2016-11-19T00:30:00+00:00",
         "data_interval": ["2016-11-18T00:30:00+00:00", "2016-11-19T00:30:00+00:00"],
         "application_args": ["--day", "2016-11-18"]},
    ]


def test_daily_first_unpause_without_a_start_runs_only_the_last_day(airflow_home):
    home = AirflowHome(airflow_home / "no-start")
    home.env.pop("FLEETWATCH_DAILY_START", None)
    now = datetime.now(UTC)
    # The newest run due: today's 00:30 one (for yesterday), or yesterday's before 00:30.
    due = datetime.combine(now.date(), time(0, 30), tzinfo=UTC)
    if now < due:
        due -= timedelta(days=1)
    day = due.date() - timedelta(days=1)
    [first] = home.scheduled_runs("fleetwatch_daily", 1)
    assert first == {"run_after": due.isoformat(),
                     "data_interval": [(due - timedelta(days=1)).isoformat(), due.isoformat()],
                     "application_args": ["--day", day.isoformat()]}


def test_ingest_dag_stores_every_good_fault_once(airflow_home, cassandra, config):
    faults = simulate_faults(FleetSpec(serials=60, models=2, days=1, start=date(2005, 3, 1),
                                       faults_per_day=400, late_fraction=0.05), seed=31)
    records = feed_records(faults, 0.04, seed=31)
    with SimulatedFeed(records.records, page_size=100) as feed:
        home = AirflowHome(airflow_home / "ingest", connections={
            "fleetwatch_feed": {"conn_type": "http", "extra": {"url": feed.url}}})
        first = home.test_dag("fleetwatch_ingest", "2026-11-20T10:00:00+00:00")
        assert first["state"] == "success" and first["tasks"] == {"pull_feed": "success"}, \
            first["log"]
        stored = fault_keys(cassandra, config, days_of(faults))
        assert stored >= expected_keys(faults, ~records.malformed)
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after={len(records.records)}"
        reasons = rejections(cassandra, feed.url)
        assert len(reasons) == int(records.malformed.sum()) and all(r for _, r, _ in reasons)

        second = home.test_dag("fleetwatch_ingest", "2026-11-20T10:15:00+00:00")
        assert second["state"] == "success", second["log"]
        assert fault_keys(cassandra, config, days_of(faults)) == stored  # nothing new
        assert len(rejections(cassandra, feed.url)) == len(reasons)     # no rejects twice


def test_daily_dag_submits_the_job_checks_the_run_and_writes_the_report(airflow_home, cassandra, config, tmp_path):
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    db_url = f"sqlite:///{tmp_path / 'dag.db'}"
    engine = create_engine(db_url)
    create_tables(engine)
    faults = simulate_faults(FleetSpec(serials=40, models=1, days=1, start=date(2005, 6, 1),
                                       faults_per_day=3000, late_fraction=0.0), seed=5)
    day = days_of(faults)[0]
    vocabulary = sorted(set(faults.tag.tolist()))
    with Session(engine) as session, session.begin():
        session.add(Rule(model=str(faults.model[0]),
                         expression=f"{vocabulary[0]} E:1h {vocabulary[1]} OU {vocabulary[2]}"))
    lines = tmp_path / "faults.jsonl"
    write_jsonl(faults, lines, 0.0, seed=5)
    assert ingest(ingest_config(), [str(lines)]).exit_code == 0

    assert day == date(2005, 6, 1)
    home = AirflowHome(airflow_home / "daily",
                       connections={"fleetwatch_spark": {"conn_type": "spark", "host": "local[2]"},
                                    "fleetwatch_db": {"conn_type": "generic",
                                                      "extra": {"url": db_url}}},
                       extra_env={"FLEETWATCH_DAILY_START": "2005-01-01",
                                  "FLEETWATCH_REPORT_DIR": str(tmp_path / "reports")})
    # Triggered when the day's scheduled run is due: it processes the day that ended.
    outcome = home.test_dag("fleetwatch_daily", "2005-06-02T00:30:00+00:00")
    assert outcome["state"] == "success", outcome["log"]
    assert outcome["data_interval"] == ["2005-06-01T00:30:00+00:00", "2005-06-02T00:30:00+00:00"]
    assert outcome["tasks"] == {"wait_for_ingestion": "success", "run_daily_job": "success",
                                "check_run": "success", "report": "success"}
    report_page = (tmp_path / "reports" / "2005-06-01.html").read_text()
    assert "fleet report 2005-05-03 … 2005-06-01" in report_page
    with Session(engine) as session:
        runs = session.query(JobRun).filter(JobRun.day == day).all()
        violations = session.execute(text("SELECT COUNT(*) FROM violations")).scalar_one()
    assert [run.status for run in runs] == ["succeeded"]
    received_that_day = int(((faults.received_ms // 86_400_000) ==
                             (day - date(1970, 1, 1)).days).sum())
    assert runs[0].faults_read == received_that_day
    assert violations > 0
    engine.dispose()


def _fault_line(received: datetime, index: int) -> str:
    """A fault of JAP00100 that occurred an hour before it was received, its
    tag alternating between the two of the test's rule."""
    return json.dumps({"serial_number": "JAP00100", "model": "JAP", "kind": "event",
                       "mid": 123, "cid": 456, "fmi": 789 + index % 2,
                       "ts": (received - timedelta(hours=1)).isoformat(),
                       "received_at": received.isoformat()})


def test_scheduler_catches_up_each_ended_day_once(airflow_home, cassandra, tmp_path):
    """The real thing: api-server, scheduler and dag-processor, the DAG unpaused
    for the first time with FLEETWATCH_DAILY_START two days back."""
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    now = datetime.now(UTC)
    today = now.date()
    # Faults received on each of the three days before today, and today: the
    # runs must read the two days from the start to yesterday, each alone.
    received_per_day = {today - timedelta(days=3): 2, today - timedelta(days=2): 3,
                        today - timedelta(days=1): 4, today: 5}
    lines = tmp_path / "faults.jsonl"
    lines.write_text("".join(
        _fault_line(datetime.combine(day, time(0, 5), tzinfo=UTC) + timedelta(minutes=n), n)
        + "\n" for day, count in received_per_day.items() for n in range(count)))
    assert ingest(ingest_config(), [str(lines)]).exit_code == 0
    db_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = create_engine(db_url)
    create_tables(engine)
    with Session(engine) as session, session.begin():
        session.add(Rule(model="JAP", expression="#1.123.456.789 E:1h #1.123.456.790"))

    expected = {today - timedelta(days=2): 3}
    if now >= datetime.combine(today, time(0, 30), tzinfo=UTC):  # yesterday's run is due
        expected[today - timedelta(days=1)] = 4
    home = AirflowHome(airflow_home / "scheduler",
                       connections={"fleetwatch_spark": {"conn_type": "spark",
                                                         "host": "local[*]"}},
                       extra_env={"FLEETWATCH_DAILY_START": str(today - timedelta(days=2)),
                                  "FLEETWATCH_DATABASE_URL": db_url})
    home.env.pop("FLEETWATCH_FEED_URL", None)  # no feed: the sensor has nothing to wait for
    with AirflowDeployment(home) as airflow:
        airflow.start(unpaused="fleetwatch_daily")
        runs = airflow.wait_until_caught_up("fleetwatch_daily", timeout_s=480)
    assert [(run["run_type"], run["state"], run["data_interval"]) for run in runs] == [
        ("scheduled", "success",
         [f"{day}T00:30:00+00:00", f"{day + timedelta(days=1)}T00:30:00+00:00"])
        for day in expected], runs
    with Session(engine) as session:
        job_runs = session.query(JobRun).order_by(JobRun.day).all()
    assert [(run.day, run.status, run.faults_read) for run in job_runs] == \
        [(day, "succeeded", count) for day, count in expected.items()]
    engine.dispose()
