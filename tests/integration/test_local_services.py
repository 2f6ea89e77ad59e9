"""`fleetwatch services start --postgres --kafka` as a user types it, in a var folder
of its own (its own Cassandra node, mail sink, PostgreSQL and Kafka broker):
`db init` and rules on that PostgreSQL, simulated readings through that Kafka into
Cassandra windows and an alert e-mail, and `services stop` ending every process."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from spark_app.services.process import alive, free_port
from tests.support.second_cassandra import second_node_environ

pytestmark = pytest.mark.slow
FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]
SERVICES = ("cassandra", "mail-sink", "postgres", "kafka")


def run(*args, env, check=True):
    result = subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True, env=env,
                            timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n"
                             f"{result.stderr[-5000:]}")
    return result


def exported_url(stdout: str) -> str:
    lines = [line for line in stdout.splitlines()
             if line.startswith("export FLEETWATCH_DATABASE_URL=")]
    assert len(lines) == 1, stdout
    return shlex.split(lines[0])[1].split("=", 1)[1]


def recorded_pids(var: Path) -> dict[str, int]:
    return {path.stem: int(path.read_text()) for path in (var / "run").glob("*.pid")}


@pytest.fixture(scope="module")
def local(config):
    """(environment, var folder, what `services start --postgres --kafka` printed)."""
    # under var/, not pytest's folder: the server runs as the postgres user when the
    # tests run as root, and root's /tmp/pytest-of-root is closed to it
    (config.var_dir / "test").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="svc-", dir=config.var_dir / "test"))
    tmp.chmod(0o755)  # mkdtemp's folder is its owner's only
    env = second_node_environ(tmp, config)
    env.pop("FLEETWATCH_DATABASE_URL", None)
    env.update(FLEETWATCH_STREAM_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
               FLEETWATCH_KAFKA_CONTROLLER_PORT=str(free_port()),
               FLEETWATCH_STREAM_CHECKPOINT_DIR=str(tmp / "checkpoints"),
               FLEETWATCH_SMTP_SINK_DIR=str(tmp / "var" / "mail"),
               FLEETWATCH_SPARK_UI_ENABLED="false")
    try:
        started = run("services", "start", "--postgres", "--kafka", env=env)
        yield env, tmp / "var", started.stdout
    finally:
        run("services", "stop", env=env, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def test_postgres_takes_db_init_and_rules(local):
    env, var, started = local
    url = exported_url(started)
    # no password, no TCP: the socket folder of this var
    assert url == (f"postgresql+psycopg://fleetwatch@/fleetwatch?host={var}/postgres/socket"
                   "&port=5432")
    env = {**env, "FLEETWATCH_DATABASE_URL": url}
    first = run("db", "init", env=env)
    assert "database: upgraded from an empty database to" in first.stdout
    assert "postgresql+psycopg://fleetwatch@/fleetwatch" in first.stdout
    assert run("rules", "add", "--model", "EX200", "#1.2.3.4 E:1h #5.6.7.8",
               "--description", "on postgres", env=env).stdout.strip() == "1"
    listed = run("rules", "list", env=env).stdout
    assert "#1.2.3.4 E:1h #5.6.7.8" in listed and "EX200" in listed

    import psycopg  # the rows are on that server, read without fleetwatch's code
    with psycopg.connect(host=str(var / "postgres" / "socket"), dbname="fleetwatch",
                         user="fleetwatch") as connection:
        assert connection.execute("SELECT model, expression FROM rules").fetchall() == [
            ("EX200", "#1.2.3.4 E:1h #5.6.7.8")]
        assert connection.execute("SHOW listen_addresses").fetchone() == ("",)
        assert connection.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
                                  ).fetchone() == (False,)

    pids = recorded_pids(var)
    again = run("services", "start", "--postgres", "--kafka", env=env)
    assert exported_url(again.stdout) == url
    assert recorded_pids(var) == pids, "a second start must not start anything"


def test_kafka_carries_simulated_readings_into_windows_and_an_alert(local):
    env, var, started = local
    env = {**env, "FLEETWATCH_DATABASE_URL": exported_url(started)}
    run("db", "init", env=env)
    sent = run("simulate", "temperatures", "--kafka", "--equipment", "3", "--rate", "0.2",
               "--hot", "EQ-0002", "--duration", "600", "--start", "2024-05-01T10:00:00Z",
               "--seed", "5", env=env)
    bootstrap = env["FLEETWATCH_STREAM_KAFKA_BOOTSTRAP"]
    assert sent.stdout.strip() == \
        f"sent 360 readings to topic temperature-readings at {bootstrap}"

    streamed = run("stream", "--source", "kafka", "--available-now", env=env)
    assert "readings: 360 accepted, 0 rejected" in streamed.stdout

    from cassandra.cluster import Cluster

    from spark_app.common.config import load_config
    keyspace = load_config(environ=env).get("cassandra", "keyspace")
    cluster = Cluster(["127.0.0.1"], port=int(env["FLEETWATCH_CASSANDRA_PORT"]),
                      connect_timeout=30, protocol_version=5)
    try:
        session = cluster.connect(keyspace)
        averages = {}
        for equipment in ("EQ-0001", "EQ-0002", "EQ-0003"):
            rows = list(session.execute(session.prepare(
                "SELECT avg_c, readings FROM temperature_windows WHERE equipment_id = ?"),
                (equipment,)))
            assert rows, f"no window of {equipment}"
            averages[equipment] = [row.avg_c for row in rows]
    finally:
        cluster.shutdown()
    assert min(averages["EQ-0002"]) > 130.0  # hot: ~150 °C
    assert max(averages["EQ-0001"] + averages["EQ-0003"]) < 95.0  # normal: 40-90 °C

    mails = [message_from_bytes(path.read_bytes(), policy=policy.default)
             for path in (var / "mail").glob("*.eml")]
    assert [(m["X-Fleetwatch-Equipment"], m["X-Fleetwatch-Kind"]) for m in mails] == \
        [("EQ-0002", "alert")]


def test_stop_ends_every_process_it_started(local):
    env, var, _ = local
    pids = recorded_pids(var)
    assert sorted(pids) == sorted(SERVICES)
    stopped = run("services", "stop", env=env)
    for name in ("Cassandra", "the mail sink", "PostgreSQL", "Kafka"):
        assert f"stopping {name} (pid" in stopped.stderr  # progress is logged, on stderr
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert recorded_pids(var) == {}
    assert not (var / "postgres" / "data" / "postmaster.pid").exists()
    status = run("services", "status", env=env, check=False)
    assert status.returncode == 1
    assert status.stdout.splitlines() == ["service    state    pid  detail",
                                          "cassandra  stopped    -  -",
                                          "mail-sink  stopped    -  -",
                                          "(2 services)"]


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the server then runs as postgres")
def test_a_folder_closed_to_the_postgres_user_is_named(tmp_path, config):
    from spark_app.services.postgres import LocalPostgres
    from spark_app.services.process import ServiceError

    # pytest's folders are root's only
    with pytest.raises(ServiceError, match="the postgres user cannot reach .*choose a paths"):
        LocalPostgres(config, root=tmp_path / "pg").start(echo=lambda *_: None)
