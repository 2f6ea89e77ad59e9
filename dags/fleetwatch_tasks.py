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
- `fleetwatch_smtp` (optional): the SMTP relay of alerts and of the operations
  e-mail: host, port, login/password, extra {"starttls": …, "ssl": …,
  "ca_file": …, "sender": …, "recipients": […], "ops_recipients": […]};
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
import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

log = logging.getLogger(__name__)

PROJECT_HOME = Path(__file__).resolve().parents[1]


# Keys of the fleetwatch_cassandra connection's extra that become FLEETWATCH_CASSANDRA_*:
# cassandra.* settings of the same name (TLS files are paths on the workers), and the
# key stores' passwords, which are secrets and so are never written in a file.
CASSANDRA_EXTRA = ("keyspace", "local_dc", "consistency", "ssl", "ssl_ca_file", "ssl_cert_file",
                   "ssl_key_file", "ssl_trust_store", "ssl_trust_store_type",
                   "ssl_trust_store_password", "ssl_key_store", "ssl_key_store_type",
                   "ssl_key_store_password")


# Keys of the fleetwatch_smtp connection's extra that become FLEETWATCH_SMTP_*, and the
# operations route (FLEETWATCH_HEALTH_RECIPIENTS) that failed tasks and findings go to.
SMTP_EXTRA = ("starttls", "ssl", "ca_file", "sender", "recipients", "timeout_s",
              "allow_plaintext_password")
# Spark's console logging: warnings only (conf/log4j2.properties), so a task log holds
# fleetwatch's own progress rather than some 700 INFO lines per run.
LOG4J2 = "conf/log4j2.properties"


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
                env[f"FLEETWATCH_CASSANDRA_{key.upper()}"] = _env_value(extra[key])
    database = _connection("fleetwatch_db")
    if database is not None:
        env["FLEETWATCH_DATABASE_URL"] = database_url(database)
    smtp = _connection("fleetwatch_smtp")
    if smtp is not None:
        extra = smtp.extra_dejson
        for key, value in (("host", smtp.host), ("port", smtp.port), ("username", smtp.login),
                           ("password", smtp.password)):
            if value:
                env[f"FLEETWATCH_SMTP_{key.upper()}"] = str(value)
        for key in SMTP_EXTRA:
            if key in extra:
                env[f"FLEETWATCH_SMTP_{key.upper()}"] = _env_value(extra[key])
        if "ops_recipients" in extra:
            env["FLEETWATCH_HEALTH_RECIPIENTS"] = _env_value(extra["ops_recipients"])
    # The daily DAG's first day is the first day health expects a run for.
    if os.environ.get("FLEETWATCH_DAILY_START") and \
            not os.environ.get("FLEETWATCH_HEALTH_DAILY_START"):
        env["FLEETWATCH_HEALTH_DAILY_START"] = os.environ["FLEETWATCH_DAILY_START"]
    return env


def database_url(database) -> str:
    """The SQLAlchemy URL of the fleetwatch_db connection: its extra's "url", else
    PostgreSQL (psycopg 3) from its fields; Airflow's own URI of a postgres
    connection says postgres://, which SQLAlchemy does not read."""
    extra = database.extra_dejson
    if extra.get("url"):
        return extra["url"]
    if database.conn_type not in ("postgres", "postgresql"):
        return database.get_uri()
    login = quote(database.login or "", safe="")
    password = f":{quote(database.password, safe='')}" if database.password else ""
    query = urlencode({key: extra[key] for key in ("sslmode", "sslrootcert") if key in extra})
    return (f"postgresql+psycopg://{login}{password}@{database.host or 'localhost'}:"
            f"{database.port or 5432}/{database.schema or ''}" + (f"?{query}" if query else ""))


def _env_value(value) -> str:
    """A connection extra's JSON value as a FLEETWATCH_* variable reads it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


def feed_url() -> str | None:
    feed = _connection("fleetwatch_feed")
    return feed.extra_dejson.get("url") if feed is not None else os.environ.get(
        "FLEETWATCH_FEED_URL")


class FleetwatchFailed(RuntimeError):
    def __init__(self, args: tuple[str, ...], returncode: int, stdout: str, stderr: str):
        super().__init__(f"fleetwatch {' '.join(args)} exited with {returncode}: "
                         f"{stderr.strip()[-2000:]}")
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_fleetwatch(*args: str, env: dict[str, str] | None = None) -> str:
    """Run `fleetwatch ARGS…`, each line of its output in the task log as it
    comes (stdout and stderr apart); returns stdout; non-zero raises FleetwatchFailed."""
    command = [app_bin("fleetwatch"), *args]
    log.info("running %s", " ".join(command))
    # Unbuffered: a pipe would otherwise hold Python's prints until the process ends.
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        env={**os.environ, **(fleetwatch_env() if env is None else env),
             "PYTHONUNBUFFERED": "1"})
    stderr: list[str] = []
    reader = threading.Thread(target=_log_lines, args=(process.stderr, stderr), daemon=True)
    reader.start()
    stdout: list[str] = []
    _log_lines(process.stdout, stdout)
    reader.join()
    returncode = process.wait()
    if returncode != 0:
        raise FleetwatchFailed(args, returncode, "".join(stdout), "".join(stderr))
    return "".join(stdout)


def _log_lines(stream, kept: list[str]) -> None:
    for line in stream:
        kept.append(line)
        log.info("%s", line.rstrip("\n"))
    stream.close()


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
    except FleetwatchFailed as error:
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
    java_options = (f"-Duser.timezone=UTC "
                    f"-Dlog4j2.configurationFile={(home / LOG4J2).as_uri()}")
    arguments = {
        "application": str(home / "spark_app" / "daily" / "entry.py"),
        "conf": {"spark.pyspark.python": python, "spark.pyspark.driver.python": python,
                 # The driver is spark-submit's own JVM (client mode): its options
                 # must be given here, before it starts, not by the application.
                 "spark.driver.extraJavaOptions": java_options,
                 "spark.executor.extraJavaOptions": java_options},
    }
    if jars:
        arguments["jars"] = ",".join(jars)
    else:
        arguments["packages"] = "com.datastax.spark:spark-cassandra-connector_2.12:3.5.1"
    return arguments


def spark_env() -> dict[str, str]:
    """spark-submit's environment, resolved when the task runs (a DAG macro)."""
    python = app_bin("python")
    env = {
        **fleetwatch_env(),
        # SparkSubmitHook runs "spark-submit" from PATH: the application's (pyspark 3.5).
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYSPARK_PYTHON": python,
    }
    spark = _connection("fleetwatch_spark")
    if spark is not None and (spark.host or "").startswith("local"):
        # Driver and executor in one process: loopback, not whatever the hostname resolves to.
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


def check_health() -> str:
    """The health task: `fleetwatch health --notify` e-mails each new finding once
    (missing or failed daily runs, silent feeds). Findings are what it is for, so
    they do not fail the task (a failure would be told a second time); not being
    able to check does."""
    feed = feed_url()
    try:
        return run_fleetwatch("health", "--notify", "--format", "json",
                              *(["--feed", feed] if feed else []))
    except FleetwatchFailed as error:
        try:
            findings = json.loads(error.stdout)
        except ValueError:
            raise error from None
        log.warning("%d finding(s) told to operations", len(findings))
        return error.stdout


def _notify_task(event: str, context) -> None:
    ti = context["ti"]
    exception = context.get("exception")
    run_fleetwatch("notify-task", "--event", event, "--dag", ti.dag_id, "--task", ti.task_id,
                   "--run", ti.run_id, "--try", str(ti.try_number),
                   "--log-url", getattr(ti, "log_url", "") or "",
                   "--detail", f"{type(exception).__name__}: {exception}"[-4000:]
                   if exception is not None else
                   # the scheduler's callback: the try ended before the task code raised
                   "The try ended without an error of its own (it could not start, or "
                   "was killed): see the scheduler's log.")


def notify_failure(context) -> None:
    """on_failure_callback: one e-mail to operations per failed try (the outbox
    keys it by DAG, task, run and try, so a callback run twice sends it once)."""
    _notify_task("failed", context)


def notify_retry(context) -> None:
    """on_retry_callback: one e-mail per try that failed and will be retried."""
    _notify_task("retry", context)


if __name__ == "__main__":  # a quick look at what the daily DAG submits
    json.dump(spark_submit_arguments(), sys.stdout, indent=1)
