"""Cassandra stopped (or killed -9) in the middle of an ingest and started
again: the ingest waits, retries and finishes, with nothing lost and nothing
doubled. The node stopped is a second one started for this test, never the
suite's node."""

import re
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import date

import numpy as np
import pytest

from spark_app.common.cassandra_session import apply_schema, cassandra_session
from spark_app.common.config import load_config
from spark_app.sim.faults import FleetSpec, simulate_faults, write_jsonl
from tests.support.ingest import days_of, expected_keys, fault_keys, rejects_of
from tests.support.second_cassandra import kill_9, second_cassandra

# Patient enough for a restart: up to ~100 attempts, 2 s apart.
PATIENT_RETRIES = {"FLEETWATCH_INGEST_RETRY_ATTEMPTS": "100",
                   "FLEETWATCH_INGEST_RETRY_BACKOFF_S": "0.5",
                   "FLEETWATCH_INGEST_RETRY_BACKOFF_MAX_S": "2"}
# A progress line on stderr (not a terminal): "… ingest: 25% 1.2MB/4.8MB […], 5,000 faults, …"
PROGRESS = re.compile(r" ingest: .*\], ([\d,]+) faults, ")


@contextmanager
def ingest_on_a_second_node(tmp_path, config, start: date, seed: int, **settings: str):
    """`fleetwatch ingest` of 20,000 simulated lines into a node of its own, as a
    running process: (node, its config, the faults, the file written, the process)."""
    faults = simulate_faults(FleetSpec(serials=300, models=3, days=2, start=start,
                                       faults_per_day=10_000), seed=seed)
    written = write_jsonl(faults, tmp_path / "faults.jsonl", 0.01, seed=seed)
    with second_cassandra(tmp_path, config) as (node, environ):
        node_config = load_config(environ=environ)
        with cassandra_session(node_config) as session:
            apply_schema(node_config, session)
        ingesting = subprocess.Popen(
            [sys.executable, "-m", "spark_app.cli", "ingest", str(written.path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**environ, **PATIENT_RETRIES, **settings})
        try:
            yield node, node_config, faults, written, ingesting
        finally:
            if ingesting.poll() is None:
                ingesting.kill()


def finished(ingesting, written, reader: threading.Thread, stderr_lines: list[str]) -> str:
    """The ingest's stderr (as `reader` collected it) once it ended, having
    counted every line of the file."""
    stdout = ingesting.stdout.read()
    ingesting.wait(timeout=300)
    reader.join(timeout=10)
    stderr = "".join(stderr_lines)
    assert ingesting.returncode == 0, stdout + stderr
    assert stdout.startswith(f"ingested {written.good:,} faults and "
                             f"{written.lines - written.good:,} rejected messages")
    return stderr


@pytest.mark.slow
def test_a_cassandra_restart_mid_ingest_loses_and_doubles_nothing(cassandra, config, tmp_path):
    with ingest_on_a_second_node(tmp_path, config, date(2006, 6, 6), 31,
                                 FLEETWATCH_INGEST_CHUNK_ROWS="1000",
                                 FLEETWATCH_INGEST_PROGRESS_INTERVAL_S="0.1") as (
            node, node_config, faults, written, ingesting):
        first_chunk_written = threading.Event()
        stderr_lines = []

        def read_stderr():  # drain it all the time, so the ingest never blocks on the pipe
            for line in ingesting.stderr:
                stderr_lines.append(line)
                counted = PROGRESS.search(line)
                if counted and counted.group(1) != "0":
                    first_chunk_written.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        assert first_chunk_written.wait(timeout=120), "".join(stderr_lines)
        node.stop(echo=lambda *_: None)
        node.start(echo=lambda *_: None)
        stderr = finished(ingesting, written, reader, stderr_lines)
        assert "failed (attempt" in stderr and "retrying in" in stderr, \
            "the outage must have been noticed and retried"

        with cassandra_session(node_config, node_config.get("cassandra", "keyspace")) as session:
            stored = fault_keys(session, node_config, days_of(faults))
        assert stored == expected_keys(faults, ~written.malformed)


@pytest.mark.slow
def test_kill_9_of_cassandra_loses_no_acknowledged_fault_or_reject(config, tmp_path):
    """The node is killed -9 twice: right after a chunk in the middle of the file
    was acknowledged (the next chunk is then in flight and must be retried), and
    right after the last chunk was acknowledged. A progress line is printed only
    once Cassandra acknowledged the chunk's faults and rejects, and the kill
    follows it within milliseconds, before a commit log synced only every few
    milliseconds or seconds would have caught up: every fault and reject the CLI
    counted must be there after each restart."""
    with ingest_on_a_second_node(tmp_path, config, date(2006, 7, 7), 37,
                                 FLEETWATCH_INGEST_CHUNK_ROWS="500",
                                 # a progress line after every chunk
                                 FLEETWATCH_INGEST_PROGRESS_INTERVAL_S="0.001") as (
            node, node_config, faults, written, ingesting):
        kill_after_faults = [5_000, written.good]  # mid-file, then the whole file
        killed = threading.Semaphore(0)
        stderr_lines = []

        def read_stderr():  # kills from here: no thread hand-over between the line and the kill
            for line in ingesting.stderr:
                stderr_lines.append(line)
                counted = PROGRESS.search(line)
                if kill_after_faults and counted and \
                        int(counted.group(1).replace(",", "")) >= kill_after_faults[0]:
                    kill_after_faults.pop(0)
                    kill_9(node)
                    killed.release()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        for _ in range(2):
            assert killed.acquire(timeout=180), "".join(stderr_lines)
            node.start(echo=lambda *_: None)
        finished(ingesting, written, reader, stderr_lines)

        with cassandra_session(node_config, node_config.get("cassandra", "keyspace")) as session:
            stored = fault_keys(session, node_config, days_of(faults))
            rejected_lines = sorted(rejects_of(session, str(written.path)))
        assert stored == expected_keys(faults, ~written.malformed)
        # one reject per malformed line, keyed by its line number
        assert rejected_lines == [int(index) + 1 for index in np.flatnonzero(written.malformed)]
