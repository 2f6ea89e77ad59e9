"""A second local Cassandra node, for tests that stop and restart one: its
own var folder and free ports (LocalCassandra makes every node seed itself,
so it never joins the suite's node)."""

from __future__ import annotations

import os
import signal
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from spark_app.common.config import Config, load_config
from spark_app.services.cassandra import LocalCassandra
from spark_app.services.process import free_port


def second_node_environ(tmp_path: Path, suite_config: Config) -> dict[str, str]:
    """FLEETWATCH_* settings naming a node in tmp_path/var (sharing the fetched jars)."""
    var = tmp_path / "var"
    var.mkdir(exist_ok=True)
    if not (var / "jars").exists():
        os.symlink(suite_config.var_dir / "jars", var / "jars")
    return {**os.environ,
            "FLEETWATCH_PATHS_VAR_DIR": str(var),
            "FLEETWATCH_CASSANDRA_PORT": str(free_port()),
            "FLEETWATCH_CASSANDRA_STORAGE_PORT": str(free_port()),
            # `fleetwatch services start` starts the loopback mail sink too
            "FLEETWATCH_SMTP_PORT": str(free_port()),
            "FLEETWATCH_CASSANDRA_HEAP": "512M"}


@contextmanager
def second_cassandra(tmp_path: Path, suite_config: Config):
    """(node, environment naming it); the node is stopped at the end, whatever happened."""
    environ = second_node_environ(tmp_path, suite_config)
    node = LocalCassandra(load_config(environ=environ))
    try:
        node.start(echo=lambda *_: None)
        yield node, environ
    finally:
        node.stop(echo=lambda *_: None)


def kill_9(node: LocalCassandra) -> None:
    """SIGKILL, as a crash does: no drain, no last commit-log sync. Returns once
    the CQL port is closed (the JVM's threads outlive its pid's exit a little)."""
    os.kill(node.pid(), signal.SIGKILL)
    while _port_answers(node.host, node.port):
        time.sleep(0.05)


def _port_answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True
