"""`fleetwatch services` and `fleetwatch db init` through the real command line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.second_cassandra import second_node_environ

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]


def run(*args, env=None, check=True):
    result = subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True,
                            env={**os.environ, **(env or {})}, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.mark.slow
def test_second_node_starts_once_and_stop_ends_exactly_that_process(tmp_path, cassandra, config):
    """A node in its own var folder and ports: start twice keeps one process,
    stop ends it, and the suite's own node keeps answering."""
    env = second_node_environ(tmp_path, config)
    pid_file = tmp_path / "var" / "run" / "cassandra.pid"
    try:
        run("services", "start", env=env)
        pid = int(pid_file.read_text())
        assert Path(f"/proc/{pid}").exists()
        run("services", "start", env=env)
        assert int(pid_file.read_text()) == pid, "a second start must not start another node"
        assert "running" in run("services", "status", env=env).stdout
    finally:
        run("services", "stop", env=env, check=False)
    assert not Path(f"/proc/{pid}").exists() or \
        Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    assert not pid_file.exists()
    assert run("services", "status", env=env, check=False).returncode == 1
    assert cassandra.execute("SELECT release_version FROM system.local").one()
    # it never joined the suite's node: no peer left behind
    assert list(cassandra.execute("SELECT peer FROM system.peers_v2")) == []


def test_db_init_twice_changes_nothing(tmp_path, cassandra, config):
    env = {"FLEETWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'init.db'}"}
    keyspace = config.get("cassandra", "keyspace")

    def cassandra_schema():
        rows = cassandra.execute(
            cassandra.prepare("SELECT table_name, column_name, type FROM system_schema.columns "
                              "WHERE keyspace_name = ?"), (keyspace,))
        return sorted(tuple(row) for row in rows)

    def sqlite_schema():
        import sqlite3
        with sqlite3.connect(tmp_path / "init.db") as connection:
            return connection.execute("SELECT type, name, sql FROM sqlite_master "
                                      "ORDER BY name").fetchall()

    first = run("db", "init", env=env)
    assert "database: upgraded from an empty database to" in first.stdout
    before = (cassandra_schema(), sqlite_schema())
    second = run("db", "init", env=env)
    assert f"keyspace {keyspace} at schema version" in second.stdout
    assert "nothing to apply" in second.stdout and "nothing to upgrade" in second.stdout
    assert (cassandra_schema(), sqlite_schema()) == before
    assert {"faults", "pending_faults", "rejected_messages", "temperature_windows"} <= \
        {row[0] for row in before[0]}


def test_a_bad_setting_stops_with_the_key_named():
    result = run("db", "init", env={"FLEETWATCH_CASSANDRA_PORT": "nine"}, check=False)
    assert result.returncode == 2
    assert "FLEETWATCH_CASSANDRA_PORT" in result.stderr
