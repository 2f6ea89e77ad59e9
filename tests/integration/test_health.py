"""`fleetwatch health` and `fleetwatch notify-task` as a monitoring probe and the
Airflow callbacks run them: the real command, the real Cassandra (feed cursors,
the outbox), SQLite's job_runs, and the project's SMTP sink on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from schemas.relational import JobRun
from spark_app.common.relational import create_tables
from spark_app.services.process import free_port
from spark_app.services.smtp_sink import MailSink

FLEETWATCH = Path(sys.executable).parent / "fleetwatch"


@pytest.fixture
def ops(cassandra, tmp_path):
    """A clean outbox and feed cursors, a job_runs database, the SMTP sink and the
    environment pointing the command at them."""
    for table in ("mail_outbox", "mail_pending", "feed_cursor"):
        cassandra.execute(f"TRUNCATE {table}")
    db_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    engine = create_engine(db_url)
    create_tables(engine)
    port = free_port()
    env = {**os.environ, "FLEETWATCH_DATABASE_URL": db_url, "FLEETWATCH_SMTP_PORT": str(port),
           "FLEETWATCH_HEALTH_RECIPIENTS": "ops@example.org,oncall@example.org",
           "FLEETWATCH_HEALTH_DAILY_GRACE_MINUTES": "0"}
    with MailSink(tmp_path / "mail", port=port) as sink:
        yield engine, sink, env
    engine.dispose()


def _run(env, *args):
    return subprocess.run([str(FLEETWATCH), *args], capture_output=True, text=True, env=env,
                          timeout=120)


def _job_run(run_id, day, status, started, error=None):
    return JobRun(run_id=run_id, day=day, status=status, started_at=started, error=error,
                  finished_at=started + timedelta(minutes=5))


def test_health_names_each_missing_or_failed_day_and_silent_feed_and_mails_each_once(
        ops, cassandra):
    engine, sink, env = ops
    now = datetime.now(UTC)
    today = now.date()
    d4, d3, d2, d1 = (today - timedelta(days=n) for n in (4, 3, 2, 1))
    with Session(engine) as session, session.begin():
        session.add_all([
            _job_run("run-d4", d4, "succeeded", now - timedelta(days=3)),
            _job_run("run-d3", d3, "failed", now - timedelta(days=2), "Traceback …\n"
                     "py4j.protocol.Py4JJavaError: Cassandra timed out"),
            # a failed run of d2 rerun with success: the latest run counts
            _job_run("run-d2a", d2, "failed", now - timedelta(hours=30), "boom"),
            _job_run("run-d2b", d2, "succeeded", now - timedelta(hours=29)),
            # d1 has no run; today has not ended
        ])
    fresh, silent = "http://feed.example/fresh", "http://feed.example/silent"
    insert = cassandra.prepare("INSERT INTO feed_cursor (feed, next_url, updated_at) "
                               "VALUES (?, ?, ?)")
    cassandra.execute(insert, (fresh, fresh + "?after=9", now - timedelta(minutes=10)))
    two_hours_ago = (now - timedelta(hours=2)).replace(microsecond=0)
    cassandra.execute(insert, (silent, silent + "?after=3", two_hours_ago))
    env = {**env, "FLEETWATCH_HEALTH_DAILY_START": str(d4)}

    feeds = ["--feed", fresh, "--feed", "http://feed.example/new"]
    probe = _run(env, "health", *feeds, "--format", "csv")
    assert probe.returncode == 1, probe.stderr
    assert probe.stdout.splitlines() == [
        "check,subject,reason",
        f"daily,{d3},latest daily run of {d3} (run-d3) is failed: "
        "py4j.protocol.Py4JJavaError: Cassandra timed out",
        f"daily,{d1},no daily run recorded for {d1}",
        "feed,http://feed.example/new,feed http://feed.example/new has never been pulled",
        f"feed,{silent},feed {silent} not pulled since "
        f"{two_hours_ago:%Y-%m-%dT%H:%M:%SZ} (more than 60 minutes)",
    ]
    assert sink.messages() == []  # a probe tells nothing without --notify

    first = _run(env, "health", "--notify", *feeds, "--format", "json")
    assert first.returncode == 1 and len(json.loads(first.stdout)) == 4, first.stderr
    assert "ops mail: 4 sent" in first.stderr
    again = _run(env, "health", "--notify", *feeds)
    assert again.returncode == 1 and "(4 findings)" in again.stdout
    assert "ops mail: 0 sent" in again.stderr
    mails = sink.messages()
    assert sorted(mail["Subject"] for mail in mails) == sorted([
        f"[fleetwatch ops] latest daily run of {d3} (run-d3) is failed: "
        "py4j.protocol.Py4JJavaError: Cassandra timed out",
        f"[fleetwatch ops] no daily run recorded for {d1}",
        "[fleetwatch ops] feed http://feed.example/new has never been pulled",
        f"[fleetwatch ops] feed {silent} not pulled since "
        f"{two_hours_ago:%Y-%m-%dT%H:%M:%SZ} (more than 60 minutes)",
    ])
    assert {mail["To"] for mail in mails} == {"ops@example.org, oncall@example.org"}

    # Everything mended: healthy, exit 0, nothing more sent.
    with Session(engine) as session, session.begin():
        session.add_all([_job_run("run-d3b", d3, "succeeded", now - timedelta(hours=1)),
                         _job_run("run-d1", d1, "succeeded", now - timedelta(minutes=30))])
    for feed in (silent, "http://feed.example/new"):
        cassandra.execute(insert, (feed, feed + "?after=4", now - timedelta(minutes=1)))
    healthy = _run(env, "health", "--notify", *feeds)
    assert (healthy.returncode, healthy.stdout) == (0, "check  subject  reason\n(0 findings)\n"), \
        healthy.stderr
    assert len(sink.messages()) == 4


def test_health_without_a_start_checks_no_day_and_bad_settings_exit_2(ops):
    _, _, env = ops
    assert _run(env, "health").returncode == 0
    bad = _run({**env, "FLEETWATCH_HEALTH_DAILY_START": "yesterday"}, "health")
    assert bad.returncode == 2
    assert bad.stderr == ("fleetwatch: configuration error: health.daily_start "
                          "(FLEETWATCH_HEALTH_DAILY_START) must be an ISO date (YYYY-MM-DD) or "
                          "empty, got 'yesterday'\n")


def test_a_task_failure_is_mailed_once_per_try_however_often_the_callback_runs(ops):
    _, sink, env = ops
    args = ["notify-task", "--dag", "fleetwatch_daily", "--task", "check_run",
            "--run", "scheduled__2026-11-20T00:30:00+00:00", "--log-url",
            "http://airflow.example/log", "--detail", "RuntimeError: no daily run recorded"]
    for _ in range(2):  # the callback run twice for the same try
        assert _run(env, *args, "--event", "retry", "--try", "1").returncode == 0
    assert _run(env, *args, "--event", "failed", "--try", "3").returncode == 0
    mails = sink.messages()
    assert [mail["Subject"] for mail in mails] == [
        "[fleetwatch ops] fleetwatch_daily.check_run failed and will be retried "
        "(try 1, run scheduled__2026-11-20T00:30:00+00:00)",
        "[fleetwatch ops] fleetwatch_daily.check_run failed "
        "(try 3, run scheduled__2026-11-20T00:30:00+00:00)"]
    assert mails[1].get_content().replace("\r\n", "\n") == (
        "Task check_run of DAG fleetwatch_daily failed.\n\n"
        "Run:   scheduled__2026-11-20T00:30:00+00:00\nTry:   3\n"
        "Log:   http://airflow.example/log\n\nRuntimeError: no daily run recorded\n")


def test_a_mail_queued_while_smtp_is_down_goes_with_the_next_round(ops, tmp_path):
    _, sink, env = ops
    sink.stop()
    args = ["notify-task", "--event", "failed", "--dag", "fleetwatch_ingest", "--task",
            "pull_feed", "--run", "manual__1", "--try", "4"]
    down = _run(env, *args)
    assert down.returncode == 0 and "1 queued for later" in down.stderr
    sink.start()
    assert _run(env, "health", "--notify").returncode == 0  # the next round delivers it
    assert [mail["Subject"] for mail in sink.messages()] == [
        "[fleetwatch ops] fleetwatch_ingest.pull_feed failed (try 4, run manual__1)"]
