"""Logging in to a Cassandra node that demands a password and TLS with a
client certificate of a private CA: the Python driver (PEM files) and the
Spark connector (key stores) both get in, a wrong password or an untrusted
node is refused with a message saying so, and the password is on no process's
command line nor in any file the Spark job leaves behind."""

import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cassandra.cluster import NoHostAvailable
from cassandra.encoder import cql_quote

from schemas.faults import Fault
from spark_app.common.cassandra_session import apply_schema, cluster_from_config
from spark_app.common.config import load_config
from spark_app.ingest.faults import FaultWriter
from tests.support.secure_cassandra import STORE_PASSWORD, SUPERUSER, secure_cassandra

pytestmark = pytest.mark.slow

ROLE = "fleetwatch_app"
# Random, so it can only be found where it was leaked.
PASSWORD = f"Pw-{secrets.token_hex(12)}"
FAULT = Fault.of("EX-00001", "EX", "#1.123.456.789", datetime(2024, 5, 1, 10, 0, tzinfo=UTC),
                 datetime(2024, 5, 1, 11, 0, tzinfo=UTC), shards=16)

# Builds the session as the daily job does, reads one table through the
# connector, and waits in between so the test can look at the processes.
SPARK_JOB = """
import sys
from spark_app.common.cassandra_read import read_table
from spark_app.common.config import load_config
from spark_app.common.spark_session import build_spark_session

config = load_config()
spark = build_spark_session(config, app_name="fleetwatch-secrets-test")
print("started", flush=True)
sys.stdin.readline()
print(read_table(spark, config, "faults").count(), flush=True)
spark.stop()
"""


@pytest.fixture(scope="module")
def secure(tmp_path_factory, config):
    """The node, with a role for the application and one fault to read."""
    with secure_cassandra(tmp_path_factory.mktemp("secure-cassandra"), config) as node:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FLEETWATCH_CASSANDRA_PASSWORD", SUPERUSER[1])
            superuser = load_config(environ={**node.environ,
                                             "FLEETWATCH_CASSANDRA_USERNAME": SUPERUSER[0]})
            cluster = cluster_from_config(superuser)
            try:
                session = cluster.connect()
                # CQL takes a role's password only as a literal, not a bind marker
                session.execute(f"CREATE ROLE IF NOT EXISTS {ROLE} "
                                f"WITH PASSWORD = {cql_quote(PASSWORD)} AND LOGIN = true")
                apply_schema(superuser, session)
                keyspace = superuser.get("cassandra", "keyspace")
                session.set_keyspace(keyspace)
                FaultWriter(session, keyspace).write([FAULT])
            finally:
                cluster.shutdown()
        yield node


def app_environ(secure, password: str = PASSWORD) -> dict[str, str]:
    return {**secure.environ, "FLEETWATCH_CASSANDRA_USERNAME": ROLE,
            "FLEETWATCH_CASSANDRA_PASSWORD": password,
            "FLEETWATCH_CASSANDRA_SSL_TRUST_STORE_PASSWORD": STORE_PASSWORD,
            "FLEETWATCH_CASSANDRA_SSL_KEY_STORE_PASSWORD": STORE_PASSWORD}


def connect_as_app(environ: dict[str, str], monkeypatch):
    # secrets are read from the process environment only
    monkeypatch.setenv("FLEETWATCH_CASSANDRA_PASSWORD", environ["FLEETWATCH_CASSANDRA_PASSWORD"])
    return cluster_from_config(load_config(environ=environ))


def test_the_python_driver_logs_in_over_tls_with_a_client_certificate(secure, monkeypatch):
    cluster = connect_as_app(app_environ(secure), monkeypatch)
    try:
        session = cluster.connect()
        clients = session.execute("SELECT username, ssl_enabled FROM system_views.clients")
        assert {(row.username, row.ssl_enabled) for row in clients} == {(ROLE, True)}
    finally:
        cluster.shutdown()


def test_a_wrong_password_is_refused_with_a_message_saying_so(secure, monkeypatch):
    cluster = connect_as_app(app_environ(secure, password="not-the-password"), monkeypatch)
    try:
        with pytest.raises(NoHostAvailable, match="password are incorrect"):
            cluster.connect()
    finally:
        cluster.shutdown()


def test_a_node_whose_ca_is_not_given_is_not_trusted(secure, monkeypatch):
    environ = {**app_environ(secure), "FLEETWATCH_CASSANDRA_SSL_CA_FILE": ""}
    cluster = connect_as_app(environ, monkeypatch)
    try:
        with pytest.raises(NoHostAvailable, match="CERTIFICATE_VERIFY_FAILED"):
            cluster.connect()
    finally:
        cluster.shutdown()


def start_spark_job(environ: dict[str, str], workdir: Path) -> subprocess.Popen:
    workdir.mkdir(exist_ok=True)
    return subprocess.Popen([sys.executable, "-c", SPARK_JOB], cwd=workdir, text=True,
                            env={**os.environ, **environ,
                                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def descendants(root: int) -> dict[int, bytes]:
    """Every process below `root`, with its command line."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                try:
                    found[pid] = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                frontier.append(pid)
    return found


def every_command_line() -> dict[int, bytes]:
    lines = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines[int(cmdline.parent.name)] = cmdline.read_bytes()
        except OSError:
            continue
    return lines


def test_spark_logs_in_and_no_command_line_or_file_holds_the_password(secure, tmp_path):
    events = tmp_path / "spark-events"
    job = start_spark_job({**app_environ(secure), "FLEETWATCH_SPARK_EVENT_LOG_DIR": str(events)},
                          tmp_path / "job")
    try:
        assert job.stdout.readline().strip() == "started", job.stderr.read()
        children = descendants(job.pid)
        jvms = [line for line in children.values() if b"org.apache.spark.deploy.SparkSubmit" in line]
        assert jvms, f"no Spark JVM among the job's processes: {children}"
        for secret in (PASSWORD, STORE_PASSWORD):
            leaks = {pid: line for pid, line in every_command_line().items()
                     if secret.encode() in line}
            assert leaks == {}, f"{secret} is on a command line"
        out, err = job.communicate("\n", timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode == 0, err
    assert out.splitlines()[-1] == "1"
    assert PASSWORD not in out + err
    # The event log records the job's settings (Spark redacts keys naming a password).
    assert [path.name for path in events.iterdir()], "the job wrote no event log"
    left_behind = [path for root in (tmp_path, Path(secure.environ["FLEETWATCH_PATHS_VAR_DIR"]))
                   for path in root.rglob("*")
                   if path.is_file() and PASSWORD.encode() in path.read_bytes()]
    assert left_behind == []


def test_spark_with_a_wrong_password_fails_with_a_message_saying_so(secure, tmp_path):
    job = start_spark_job(app_environ(secure, password="not-the-password"), tmp_path / "job")
    try:
        out, err = job.communicate("\n", timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert job.returncode != 0
    assert f"Provided username {ROLE} and/or password are incorrect" in err


def fleetwatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "spark_app.cli", *args], env=env, text=True,
                            capture_output=True, timeout=600)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_the_daily_job_logs_in_and_no_command_line_or_file_holds_the_password(secure,
                                                                              tmp_path):
    env = {**os.environ, **app_environ(secure),
           "FLEETWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'fleetwatch.db'}",
           "FLEETWATCH_SPARK_EVENT_LOG_DIR": str(tmp_path / "spark-events")}
    fleetwatch("db", "init", env=env)
    fleetwatch("rules", "add", "--model", FAULT.model, FAULT.tag, env=env)
    daily = subprocess.Popen([sys.executable, "-m", "spark_app.cli", "daily", "--day",
                              "2024-05-01"], env=env, text=True, cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    jvm_seen, leaks = False, {}
    try:
        while daily.poll() is None:  # look at every process while the job runs
            jvm_seen = jvm_seen or any(b"org.apache.spark.deploy.SparkSubmit" in line
                                       for line in descendants(daily.pid).values())
            leaks.update({pid: line for pid, line in every_command_line().items()
                          if PASSWORD.encode() in line or STORE_PASSWORD.encode() in line})
            time.sleep(0.2)
        out, err = daily.communicate(timeout=60)
    finally:
        if daily.poll() is None:
            daily.kill()
            daily.wait()
    assert daily.returncode == 0, err
    assert jvm_seen, "the job's Spark JVM was never seen"
    assert leaks == {}
    assert "1 violations found" in out, out
    report = fleetwatch("violations", "--format", "csv", env=env).stdout
    assert "EX-00001" in report and "2024-05-01" in report, report
    assert [path.name for path in (tmp_path / "spark-events").iterdir()]
    left_behind = [path for root in (tmp_path, Path(secure.environ["FLEETWATCH_PATHS_VAR_DIR"]))
                   for path in root.rglob("*")
                   if path.is_file() and PASSWORD.encode() in path.read_bytes()]
    assert left_behind == []


def refused_command(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "spark_app.cli", *args], text=True,
                            env={**os.environ, **env}, capture_output=True, timeout=600)
    assert result.returncode == 1, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_the_command_line_tells_a_refused_login_from_a_node_not_running(secure, tmp_path):
    port = secure.environ["FLEETWATCH_CASSANDRA_PORT"]
    wrong = app_environ(secure, password="not-the-password")
    status = refused_command("ingest-status", env=wrong)
    assert status.stderr.startswith(f"fleetwatch: Cassandra at 127.0.0.1:{port} refused the "
                                    f"login (Failed to authenticate to 127.0.0.1:{port}:")
    assert status.stderr.endswith(
        "): check cassandra.username (FLEETWATCH_CASSANDRA_USERNAME) and "
        "FLEETWATCH_CASSANDRA_PASSWORD\n")
    assert "is it running" not in status.stderr

    without_login = {key: value for key, value in app_environ(secure).items()
                     if key not in ("FLEETWATCH_CASSANDRA_USERNAME",
                                    "FLEETWATCH_CASSANDRA_PASSWORD")}
    anonymous = refused_command("ingest-status", env=without_login)
    assert "refused the login" in anonymous.stderr and "requires authentication" in \
        anonymous.stderr, anonymous.stderr

    faults = tmp_path / "faults.jsonl"
    faults.write_text("")
    began = time.monotonic()
    ingest = refused_command("ingest", str(faults), env=wrong)
    assert "FAILED: Cassandra at 127.0.0.1:" in ingest.stdout and "refused the login" in \
        ingest.stdout, ingest.stdout
    assert "retrying" not in ingest.stderr  # a wrong password stays wrong
    assert time.monotonic() - began < 60


def test_the_command_line_says_when_the_node_is_not_trusted(secure):
    untrusted = {**app_environ(secure), "FLEETWATCH_CASSANDRA_SSL_CA_FILE": ""}
    result = refused_command("ingest-status", env=untrusted)
    assert result.stderr.startswith("fleetwatch: TLS with Cassandra at 127.0.0.1:")
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr and "cassandra.ssl_ca_file" in \
        result.stderr
