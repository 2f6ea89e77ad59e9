"""The Airflow DAGs for real: DagBag imports them, and `dag.test()` runs them
in Airflow's own virtualenv against the simulated feed on loopback, the real
Cassandra, and spark-submit of the daily job."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from schemas.relational import JobRun, Rule
from spark_app.common.relational import create_tables
from spark_app.ingest.run import ingest
from spark_app.sim.faults import FleetSpec, feed_records, simulate_faults, write_jsonl
from spark_app.sim.feed import SimulatedFeed
from tests.support.airflow_dags import AIRFLOW_PYTHON, AirflowHome
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


def test_daily_dag_submits_the_job_and_checks_the_run(airflow_home, cassandra, config, tmp_path):
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

    home = AirflowHome(airflow_home / "daily",
                       connections={"fleetwatch_spark": {"conn_type": "spark", "host": "local[2]"},
                                    "fleetwatch_db": {"conn_type": "generic",
                                                      "extra": {"url": db_url}}},
                       extra_env={"FLEETWATCH_DAILY_START": "2005-01-01"})
    logical = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + \
        timedelta(minutes=30)
    outcome = home.test_dag("fleetwatch_daily", logical.isoformat())
    assert outcome["state"] == "success", outcome["log"]
    assert outcome["tasks"] == {"wait_for_ingestion": "success", "run_daily_job": "success",
                                "check_run": "success"}
    with Session(engine) as session:
        runs = session.query(JobRun).filter(JobRun.day == day).all()
        violations = session.execute(text("SELECT COUNT(*) FROM violations")).scalar_one()
    assert [run.status for run in runs] == ["succeeded"]
    received_that_day = int(((faults.received_ms // 86_400_000) ==
                             (day - date(1970, 1, 1)).days).sum())
    assert runs[0].faults_read == received_that_day
    assert violations > 0
    engine.dispose()
