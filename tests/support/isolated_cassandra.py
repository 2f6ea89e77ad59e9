"""A second local Cassandra node for tests that stop and restart one, in its
own var folder and on free ports, forming a cluster of its own.

Same cluster name and seed (127.0.0.1:7000) as the suite's node would make
it JOIN that node's ring: its tokens stay there after it stops, and the
suite's node then answers Unavailable for a share of every keyspace's
partitions. So this node reads a copy of conf/cassandra/cassandra.yaml with
its own cluster name and itself as seed.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path

from spark_app.config import Config, load_config
from spark_app.services import CASSANDRA_CONF, LocalCassandra


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class IsolatedCassandra(LocalCassandra):
    def __init__(self, config: Config, conf_dir: Path):
        super().__init__(config)
        storage_port = config.get("cassandra", "storage_port")
        shared = (CASSANDRA_CONF / "cassandra.yaml").read_text()
        own = shared.replace("cluster_name: fleetwatch-local",
                             f"cluster_name: fleetwatch-isolated-{storage_port}")
        own = own.replace('- seeds: "127.0.0.1:7000"', f'- seeds: "127.0.0.1:{storage_port}"')
        if own.count(f"isolated-{storage_port}") != 1 or f':{storage_port}"' not in own:
            raise RuntimeError("conf/cassandra/cassandra.yaml changed: update IsolatedCassandra")
        self.yaml = conf_dir / "cassandra.yaml"
        self.yaml.write_text(own)

    def command(self) -> list[str]:
        return [f"-Dcassandra.config=file://{self.yaml}" if part.startswith("-Dcassandra.config=")
                else part for part in super().command()]


@contextmanager
def isolated_cassandra(tmp_path: Path, suite_config: Config):
    """(node, environment naming it) for the duration of the block; the node is
    stopped at the end, whatever happened."""
    var = tmp_path / "var"
    var.mkdir()
    os.symlink(suite_config.var_dir / "jars", var / "jars")  # the fetched jars are shared
    environ = {**os.environ,
               "FLEETWATCH_PATHS_VAR_DIR": str(var),
               "FLEETWATCH_CASSANDRA_PORT": str(free_port()),
               "FLEETWATCH_CASSANDRA_STORAGE_PORT": str(free_port()),
               "FLEETWATCH_CASSANDRA_HEAP": "512M"}
    node = IsolatedCassandra(load_config(environ=environ), tmp_path)
    try:
        node.start(echo=lambda *_: None)
        yield node, environ
    finally:
        node.stop(echo=lambda *_: None)
