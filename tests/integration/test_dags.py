"""The Airflow DAGs for real: DagBag imports them, and `dag.test()` runs them
in Airflow's own virtualenv against the simulated feed on loopback, the real
Cassandra, and spark-submit of the daily job."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from schemas.relational import JobRun, Rule
from spark_app.common.relational import create_tables
from spark_app.common.settings import CassandraSettings
from spark_app.ingest.run import ingest
from spark_app.services.process import free_port
from spark_app.services.smtp_sink import MailSink
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
        assert first["state"] == "success" and \
            first["tasks"] == {"pull_feed": "success", "health": "success"}, \
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
                                "check_run": "success", "report": "success", "notify": "success"}
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


@pytest.fixture(scope="module")
def scheduled(airflow_home, cassandra, config, tmp_path_factory):
    """The real thing, once for every scheduler test (each run costs minutes):
    api-server, scheduler and dag-processor, configured only by connections
    given as AIRFLOW_CONN_* JSON (Cassandra, the database, the feed, SMTP, Spark:
    the FLEETWATCH_* variables that would point the tasks there are removed).
    The ingest DAG is unpaused first and its first pull fails (the feed answers
    500), so it is retried; then the daily DAG is unpaused for the first time
    with FLEETWATCH_DAILY_START two days back and catches up."""
    work = tmp_path_factory.mktemp("scheduled")
    for table in ("faults", "pending_faults", "pending_generations", "feed_cursor",
                  "mail_outbox", "mail_pending"):
        cassandra.execute(f"TRUNCATE {table}")
    now = datetime.now(UTC)
    today = now.date()
    # Faults received on each of the three days before today, and today: the
    # runs must read the two days from the start to yesterday, each alone.
    received_per_day = {today - timedelta(days=3): 2, today - timedelta(days=2): 3,
                        today - timedelta(days=1): 4, today: 5}
    lines = work / "faults.jsonl"
    lines.write_text("".join(
        _fault_line(datetime.combine(day, time(0, 5), tzinfo=UTC) + timedelta(minutes=n), n)
        + "\n" for day, count in received_per_day.items() for n in range(count)))
    assert ingest(ingest_config(), [str(lines)]).exit_code == 0
    db_url = f"sqlite:///{work / 'jobs.db'}"
    engine = create_engine(db_url)
    create_tables(engine)
    with Session(engine) as session, session.begin():
        session.add(Rule(model="JAP", expression="#1.123.456.789 E:1h #1.123.456.790"))
    engine.dispose()
    # The feed's faults were received in 2005: they change no recent day.
    feed_faults = simulate_faults(FleetSpec(serials=20, models=1, days=1, start=date(2005, 9, 1),
                                            faults_per_day=300, late_fraction=0.0), seed=7)
    records = feed_records(feed_faults, 0.0, seed=7)
    smtp_port = free_port()
    cassandra_settings = config.settings(CassandraSettings)
    with SimulatedFeed(records.records, page_size=100) as feed, \
            MailSink(work / "mail", port=smtp_port) as sink:
        home = AirflowHome(airflow_home / "scheduler", connections={
            "fleetwatch_spark": {"conn_type": "spark", "host": "local[*]"},
            "fleetwatch_cassandra": {"conn_type": "generic",
                                     "host": ",".join(cassandra_settings.hosts),
                                     "port": cassandra_settings.port,
                                     "extra": {"keyspace": cassandra_settings.keyspace}},
            "fleetwatch_db": {"conn_type": "generic", "extra": {"url": db_url}},
            "fleetwatch_feed": {"conn_type": "http", "extra": {"url": feed.url}},
            "fleetwatch_smtp": {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                                "extra": {"sender": "airflow@example.org",
                                          "ops_recipients": ["ops@example.org"]}}},
            extra_env={"FLEETWATCH_DAILY_START": str(today - timedelta(days=2)),
                       # one day before the DAG's start: health finds it missing
                       "FLEETWATCH_HEALTH_DAILY_START": str(today - timedelta(days=3)),
                       "FLEETWATCH_HEALTH_DAILY_GRACE_MINUTES": "0",
                       # the feed's two 500s exhaust the pull's own attempts: the task fails
                       "FLEETWATCH_INGEST_RETRY_ATTEMPTS": "2"})
        for name in ("FLEETWATCH_CASSANDRA_PORT", "FLEETWATCH_CASSANDRA_KEYSPACE",
                     "FLEETWATCH_CASSANDRA_HOSTS", "FLEETWATCH_DATABASE_URL",
                     "FLEETWATCH_SMTP_PORT", "FLEETWATCH_SMTP_HOST", "FLEETWATCH_FEED_URL"):
            home.env.pop(name, None)
        feed.fail(2)
        with AirflowDeployment(home) as airflow:
            airflow.start(unpaused=("fleetwatch_ingest",), migrate=False)  # AirflowHome did
            ingest_runs = airflow.wait_until_done("fleetwatch_ingest", timeout_s=600)
            airflow.airflow("dags", "unpause", "fleetwatch_daily")
            daily_runs = airflow.wait_until_caught_up("fleetwatch_daily", timeout_s=1500)
            logs = {task: airflow.task_logs("fleetwatch_daily", task)
                    for task in ("run_daily_job", "check_run")}
            logs["pull_feed"] = airflow.task_logs("fleetwatch_ingest", "pull_feed")
        yield SimpleNamespace(today=today, now=now, db_url=db_url, feed=feed, records=records,
                              feed_faults=feed_faults, ingest_runs=ingest_runs,
                              daily_runs=daily_runs, logs=logs, mails=sink.messages())


def _expected_days(scheduled) -> dict[date, int]:
    """The days the catchup runs, with the faults received on each."""
    today = scheduled.today
    expected = {today - timedelta(days=2): 3}
    if scheduled.now >= datetime.combine(today, time(0, 30), tzinfo=UTC):  # yesterday's is due
        expected[today - timedelta(days=1)] = 4
    return expected


def test_scheduler_catches_up_each_ended_day_once(scheduled):
    expected = _expected_days(scheduled)
    assert [(run["run_type"], run["state"], run["data_interval"])
            for run in scheduled.daily_runs] == [
        ("scheduled", "success",
         [f"{day}T00:30:00+00:00", f"{day + timedelta(days=1)}T00:30:00+00:00"])
        for day in expected], scheduled.daily_runs
    engine = create_engine(scheduled.db_url)
    with Session(engine) as session:
        job_runs = session.query(JobRun).order_by(JobRun.day).all()
    engine.dispose()
    assert [(run.day, run.status, run.faults_read) for run in job_runs] == \
        [(day, "succeeded", count) for day, count in expected.items()]


def test_daily_job_log_holds_its_progress_and_no_spark_info(scheduled):
    log = scheduled.logs["run_daily_job"]
    for day, count in _expected_days(scheduled).items():
        assert f"[1/1] {day}: {count} faults, " in log, log[-6000:]
    # Spark's console lines are "HH:mm:ss LEVEL Logger: message" (conf/log4j2.properties)
    # or "yy/MM/dd HH:mm:ss INFO …" with Spark's own default profile.
    # (fleetwatch's own lines start with an ISO instant, "…T00:40:12 INFO spark_app…")
    spark_info = re.findall(r"(?<![T\d])\d\d:\d\d:\d\d INFO \S+: .*", log)
    assert spark_info == []
    assert "Using Spark's default log4j profile" not in log


def test_ingest_pulls_the_feed_of_its_connection_after_a_retry(scheduled, cassandra, config):
    [run] = scheduled.ingest_runs
    assert (run["state"], run["tasks"]) == ("success", {"pull_feed": "success",
                                                        "health": "success"})
    assert cursor_of(cassandra, scheduled.feed.url) == \
        f"{scheduled.feed.url}?after={len(scheduled.records.records)}"
    assert fault_keys(cassandra, config, days_of(scheduled.feed_faults)) == \
        expected_keys(scheduled.feed_faults, ~scheduled.records.malformed)
    assert f"ingested {len(scheduled.records.records):,} faults and 0 rejected messages" in \
        scheduled.logs["pull_feed"], scheduled.logs["pull_feed"][-6000:]


def test_the_retried_task_and_each_missing_day_are_mailed_once(scheduled):
    [run] = scheduled.ingest_runs
    today = scheduled.today
    # When health ran (after the pull, before the daily DAG was unpaused) no day
    # from its start to yesterday had a run.
    missing = [today - timedelta(days=n) for n in (3, 2, 1)]
    ops = [mail for mail in scheduled.mails if mail["Subject"].startswith("[fleetwatch ops]")]
    assert sorted(mail["Subject"] for mail in ops) == sorted(
        [f"[fleetwatch ops] fleetwatch_ingest.pull_feed failed and will be retried "
         f"(try 1, run {run['run_id']})"]
        + [f"[fleetwatch ops] no daily run recorded for {day}" for day in missing])
    assert {mail["To"] for mail in ops} == {"ops@example.org"}
    assert {mail["From"] for mail in ops} == {"airflow@example.org"}


def test_each_caught_up_day_sends_its_digest_once_to_the_default_recipients(scheduled):
    """The notify task after check_run: the days are recent, so their digests go out
    (to smtp.recipients: there are no routes), one per day, with the day's new
    violations as the daily run stored them."""
    engine = create_engine(scheduled.db_url)
    with engine.connect() as connection:
        stored = dict(connection.execute(text(
            "SELECT r.day, COUNT(*) FROM violations v JOIN job_runs r ON r.run_id = v.run_id "
            "GROUP BY r.day")).all())
    engine.dispose()
    digests = [mail for mail in scheduled.mails if not mail["Subject"].startswith(
        "[fleetwatch ops]")]
    expected = sorted(_expected_days(scheduled))
    assert sorted(mail["Subject"] for mail in digests) == [
        f"[fleetwatch] digest {day}: {stored[str(day)]} new violation(s), worst warning"
        for day in expected]
    assert all(stored[str(day)] > 0 for day in expected)
    assert {mail["To"] for mail in digests} == {"operations@localhost"}
