"""What the Airflow DAGs run. Airflow lives in its own virtualenv (see
conf/airflow/requirements.txt), so this module imports only the standard
library and Airflow; the work itself runs as the `fleetwatch` command of the
application's virtualenv, configured through FLEETWATCH_* variables filled
from Airflow connections:

- `fleetwatch_cassandra` (optional): host (comma-separated hosts), port,
  login/password, extra {"keyspace": …, "local_dc": …, "ssl": true, "ssl_ca_file": …}
  (every key of CASSANDRA_EXTRA below);
- `fleetwatch_db` (optional): the relational database as a SQLAlchemy URL in
  the connection's extra {"url": …} (or host/login/password/schema for
  PostgreSQL);
- `fleetwatch_feed` (optional): the telemetry feed, extra {"url": …};
- `fleetwatch_spark`: the Spark master for SparkSubmitOperator.

A connection that is not defined leaves the environment as it is, so the
embedded defaults (and FLEETWATCH_* variables of the worker) apply.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

PROJECT_HOME = Path(__file__).resolve().parents[1]


# Keys of the fleetwatch_cassandra connection's extra that become FLEETWATCH_CASSANDRA_*:
# cassandra.* settings of the same name (TLS files are paths on the workers), and the
# key stores' passwords, which are secrets and so are never written in a file.
CASSANDRA_EXTRA = ("keyspace", "local_dc", "consistency", "ssl", "ssl_ca_file", "ssl_cert_file",
                   "ssl_key_file", "ssl_trust_store", "ssl_trust_store_type",
                   "ssl_trust_store_password", "ssl_key_store", "ssl_key_store_type",
                   "ssl_key_store_password")


def fleetwatch_home() -> Path:
    return Path(os.environ.get("FLEETWATCH_HOME") or PROJECT_HOME)


def app_bin(name: str) -> str:
    """A program of the application's virtualenv (fleetwatch, spark-submit, python)."""
    return str(fleetwatch_home() / ".venv" / "bin" / name)


def _connection(conn_id: str):
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None  # not defined: the environment's FLEETWATCH_* settings apply


def fleetwatch_env() -> dict[str, str]:
    """FLEETWATCH_* variables from the Airflow connections that exist."""
    env: dict[str, str] = {}
    cassandra = _connection("fleetwatch_cassandra")
    if cassandra is not None:
        extra = cassandra.extra_dejson
        if cassandra.host:
            env["FLEETWATCH_CASSANDRA_HOSTS"] = cassandra.host
        if cassandra.port:
            env["FLEETWATCH_CASSANDRA_PORT"] = str(cassandra.port)
        if cassandra.login:
            env["FLEETWATCH_CASSANDRA_USERNAME"] = cassandra.login
        if cassandra.password:
            env["FLEETWATCH_CASSANDRA_PASSWORD"] = cassandra.password
        for key in CASSANDRA_EXTRA:
            if key in extra:
                env[f"FLEETWATCH_CASSANDRA_{key.upper()}"] = str(extra[key]).lower() \
                    if isinstance(extra[key], bool) else str(extra[key])
    database = _connection("fleetwatch_db")
    if database is not None:
        url = database.extra_dejson.get("url") or database.get_uri()
        env["FLEETWATCH_DATABASE_URL"] = url
    return env


def feed_url() -> str | None:
    feed = _connection("fleetwatch_feed")
    return feed.extra_dejson.get("url") if feed is not None else os.environ.get(
        "FLEETWATCH_FEED_URL")


def run_fleetwatch(*args: str) -> str:
    """Run `fleetwatch ARGS…`; its output goes to the task log; non-zero fails the task."""
    command = [app_bin("fleetwatch"), *args]
    log.info("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, **fleetwatch_env()})
    for stream in (result.stdout, result.stderr):
        for line in stream.splitlines():
            log.info("%s", line)
    if result.returncode != 0:
        raise RuntimeError(f"fleetwatch {' '.join(args)} exited with {result.returncode}: "
                           f"{result.stderr.strip()[-2000:]}")
    return result.stdout


def pull_feed() -> str:
    """The ingest DAG's task: follow the feed from its cursor until no next page."""
    url = feed_url()
    if not url:
        raise RuntimeError("no feed configured: define the Airflow connection fleetwatch_feed "
                           "with extra {\"url\": …} or set FLEETWATCH_FEED_URL")
    return run_fleetwatch("ingest", url)


def received_day(dag_run) -> date:
    """The received day a daily run processes: the last UTC day that had ended
    when its data interval ended (the run due at D+1 00:30 UTC processes D),
    or, for a run triggered without a logical date (so without an interval),
    when it was triggered. The sensor, the job's --day and check_run all take
    their day from here."""
    moment = dag_run.data_interval_end or dag_run.run_after
    return moment.astimezone(UTC).date() - timedelta(days=1)


def daily_start(configured: str | None) -> datetime | None:
    """The daily DAG's start_date from FLEETWATCH_DAILY_START (ISO date): midnight
    UTC of the first received day to process; None when it is not set."""
    if not configured:
        return None
    try:
        return datetime.combine(date.fromisoformat(configured), time(), tzinfo=UTC)
    except ValueError:
        raise ValueError(f"FLEETWATCH_DAILY_START={configured!r} is not an ISO date "
                         "(YYYY-MM-DD)") from None


def day_ingested(day: date) -> bool:
    """The sensor of the daily DAG: every feed has been pulled after `day` ended,
    so the faults received on `day` are all in Cassandra. Without a feed
    (faults arrive as files), there is nothing to wait for."""
    if not feed_url():
        log.info("no feed configured; faults arrive by files, nothing to wait for")
        return True
    day_end = datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
    try:
        run_fleetwatch("ingest-status", "--since", day_end.isoformat().replace("+00:00", "Z"))
    except RuntimeError as error:
        log.info("ingestion of %s not complete yet: %s", day, error)
        return False
    return True


def day_run_succeeded(day: date) -> str:
    """The daily DAG's last task: the day's latest run in job_runs succeeded."""
    return run_fleetwatch("runs", "--day", day.isoformat(), "--check")


def day_report(day: date) -> str:
    """The daily DAG's report task: the fleet report of the period ending on `day`,
    written where report.dir says (<report.dir>/<day>.html)."""
    return run_fleetwatch("report", "--day", day.isoformat())


def spark_submit_arguments() -> dict:
    """SparkSubmitOperator arguments known when the DAG is parsed (files only, no
    connections): the daily job's entry, the application's Python, and the
    connector from var/jars (offline) or else --packages."""
    home = fleetwatch_home()
    jars = sorted(str(path) for path in (home / "var" / "jars" / "spark").glob("*.jar"))
    python = app_bin("python")
    arguments = {
        "application": str(home / "spark_app" / "daily" / "entry.py"),
        "conf": {"spark.pyspark.python": python, "spark.pyspark.driver.python": python},
    }
    if jars:
        arguments["jars"] = ",".join(jars)
    else:
        arguments["packages"] = "com.datastax.spark:spark-cassandra-connector_2.12:3.5.1"
    return arguments


def spark_env() -> dict[str, str]:
    """spark-submit's environment, resolved when the task runs (a DAG macro)."""
    python = app_bin("python")
    return {
        **fleetwatch_env(),
        # SparkSubmitHook runs "spark-submit" from PATH: the application's (pyspark 3.5).
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYSPARK_PYTHON": python,
    }


if __name__ == "__main__":  # a quick look at what the daily DAG submits
    json.dump(spark_submit_arguments(), sys.stdout, indent=1)
