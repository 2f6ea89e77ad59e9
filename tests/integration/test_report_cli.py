"""`fleetwatch report` as a command: the page where the configuration says, and a
clear failure when Cassandra cannot be read."""

import os
import socket
import subprocess
import sys

from spark_app.common.relational import create_tables, engine_for_url
from tests.support.report_data import PERIOD, seed_relational

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


def test_unreachable_cassandra_is_a_clear_failure_not_a_traceback(tmp_path):
    url = f"sqlite:///{tmp_path / 'fleetwatch.db'}"
    engine = engine_for_url(url)
    create_tables(engine)
    seed_relational(engine)
    result = subprocess.run(
        [*FLEETWATCH, "report", "--day", PERIOD.last.isoformat(), "--days", "3"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "FLEETWATCH_DATABASE_URL": url,
             "FLEETWATCH_CASSANDRA_PORT": str(_closed_port()),
             "FLEETWATCH_REPORT_DIR": str(tmp_path / "reports")})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "fleetwatch report: reading Cassandra through Spark failed (" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()
