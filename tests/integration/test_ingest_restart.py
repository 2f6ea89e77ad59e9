"""Cassandra stopped in the middle of an ingest and started again: the ingest
waits, retries and finishes, with nothing lost and nothing doubled. The node
stopped is a second one started for this test, never the suite's node."""

import subprocess
import sys
import threading
from datetime import date

import pytest

from spark_app.common.cassandra_session import apply_schema, cassandra_session
from spark_app.common.config import load_config
from spark_app.sim.faults import FleetSpec, simulate_faults, write_jsonl
from tests.support.ingest import days_of, expected_keys, fault_keys
from tests.support.second_cassandra import second_cassandra


@pytest.mark.slow
def test_a_cassandra_restart_mid_ingest_loses_and_doubles_nothing(cassandra, config, tmp_path):
    faults = simulate_faults(FleetSpec(serials=300, models=3, days=2, start=date(2006, 6, 6),
                                       faults_per_day=10_000), seed=31)
    written = write_jsonl(faults, tmp_path / "faults.jsonl", 0.01, seed=31)

    with second_cassandra(tmp_path, config) as (node, environ):
        node_config = load_config(environ=environ)
        with cassandra_session(node_config) as session:
            apply_schema(node_config, session)
        ingesting = subprocess.Popen(
            [sys.executable, "-m", "spark_app.cli", "ingest", str(written.path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**environ,
                 # patient enough for a restart: up to ~100 attempts, 2 s apart
                 "FLEETWATCH_INGEST_RETRY_ATTEMPTS": "100",
                 "FLEETWATCH_INGEST_RETRY_BACKOFF_S": "0.5",
                 "FLEETWATCH_INGEST_RETRY_BACKOFF_MAX_S": "2",
                 "FLEETWATCH_INGEST_CHUNK_ROWS": "1000",
                 "FLEETWATCH_INGEST_PROGRESS_INTERVAL_S": "0.1"})
        first_chunk_written = threading.Event()
        stderr_lines = []

        def read_stderr():  # drain it all the time, so the ingest never blocks on the pipe
            for line in ingesting.stderr:
                stderr_lines.append(line)
                if line.startswith("ingest: ") and not line.startswith("ingest: 0 faults"):
                    first_chunk_written.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        try:
            assert first_chunk_written.wait(timeout=120), "".join(stderr_lines)
            node.stop(echo=lambda *_: None)
            node.start(echo=lambda *_: None)
            stdout = ingesting.stdout.read()
            ingesting.wait(timeout=300)
        finally:
            if ingesting.poll() is None:
                ingesting.kill()
            reader.join(timeout=10)
        stderr = "".join(stderr_lines)
        assert ingesting.returncode == 0, stdout + stderr
        assert "failed (attempt" in stderr and "retrying in" in stderr, \
            "the outage must have been noticed and retried"
        assert stdout.startswith(f"ingested {written.good:,} faults and "
                                 f"{written.lines - written.good:,} rejected messages")

        with cassandra_session(node_config, node_config.get("cassandra", "keyspace")) as session:
            stored = fault_keys(session, node_config, days_of(faults))
        assert stored == expected_keys(faults, ~written.malformed)
