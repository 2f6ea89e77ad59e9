"""The command line against the real Cassandra: listings in every format, and
failures that say which one it is (a keyspace that does not exist, a node
that is not running) and what to do."""

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest

from spark_app.services.process import free_port

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]
FEED = "http://test-cli.invalid/Fleet/FaultCodes"


def fleetwatch(*args, **environ):
    return subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **environ})


@pytest.fixture
def feed_pulled(cassandra):
    cassandra.execute("INSERT INTO feed_cursor (feed, next_url, updated_at) VALUES (%s, %s, %s)",
                      (FEED, FEED + "?page=7", datetime(2016, 11, 17, 0, 5, 30)))
    yield
    cassandra.execute("DELETE FROM feed_cursor WHERE feed = %s", (FEED,))


def test_ingest_status_in_every_format(feed_pulled):
    table = fleetwatch("ingest-status")
    assert table.returncode == 0, table.stderr
    assert (f"{FEED}  2016-11-17T00:05:30.000Z  {FEED}?page=7\n") in table.stdout
    assert table.stdout.startswith("feed ")
    csv = fleetwatch("ingest-status", "--format", "csv").stdout
    assert csv.startswith("feed,pulled at,next\n")
    assert f"{FEED},2016-11-17T00:05:30.000Z,{FEED}?page=7\n" in csv
    listed = json.loads(fleetwatch("ingest-status", "--format", "json").stdout)
    assert {"feed": FEED, "pulled_at": "2016-11-17T00:05:30.000Z",
            "next_url": FEED + "?page=7"} in listed


def test_services_status_in_every_format(cassandra, config):
    port = config.get("cassandra", "port")
    listed = json.loads(fleetwatch("services", "status", "--format", "json").stdout)
    node = next(service for service in listed if service["service"] == "cassandra")
    assert (node["state"], node["answering"], node["detail"]) == \
        ("running", True, f"CQL on 127.0.0.1:{port}")
    assert isinstance(node["pid"], int)
    table = fleetwatch("services", "status").stdout.splitlines()
    assert table[0].split() == ["service", "state", "pid", "detail"]
    assert table[1].startswith("cassandra  running ") and \
        table[1].endswith(f"CQL on 127.0.0.1:{port}")


def test_stream_on_a_keyspace_that_does_not_exist_says_db_init_creates_it(cassandra):
    result = fleetwatch("stream", "--available-now",
                        FLEETWATCH_CASSANDRA_KEYSPACE="no_such_keyspace")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "fleetwatch: Cassandra has no keyspace no_such_keyspace (cassandra.keyspace): "
        "`fleetwatch db init` creates it")
    assert "is it running" not in result.stderr and "Traceback" not in result.stderr


def test_other_commands_on_a_missing_keyspace_say_the_same(cassandra, tmp_path):
    missing = {"FLEETWATCH_CASSANDRA_KEYSPACE": "no_such_keyspace"}
    status = fleetwatch("ingest-status", **missing)
    assert status.returncode == 1, status.stdout
    assert status.stderr == (
        "fleetwatch: Cassandra has no keyspace no_such_keyspace (cassandra.keyspace): "
        "`fleetwatch db init` creates it\n")
    faults = tmp_path / "faults.jsonl"
    faults.write_text("")
    ingest = fleetwatch("ingest", str(faults), **missing)
    assert ingest.returncode == 1, ingest.stderr
    assert f"  {faults}: 0 faults, 0 rejected — FAILED: Cassandra has no keyspace " \
        "no_such_keyspace (cassandra.keyspace): `fleetwatch db init` creates it\n" in ingest.stdout
    current = fleetwatch("db", "current", **missing)  # not an error: where the schema stands
    assert current.returncode == 0, current.stderr
    assert current.stdout.startswith("cassandra: keyspace no_such_keyspace no schema version "
                                     "recorded; to apply: 1, 2, ")
    assert current.stderr == ""


def test_a_node_that_is_not_running_is_told_apart(cassandra):
    port = free_port()
    result = fleetwatch("ingest-status", FLEETWATCH_CASSANDRA_PORT=str(port))
    assert result.returncode == 1
    [message] = result.stderr.splitlines()  # the driver's own errors are not repeated
    assert message.startswith(f"fleetwatch: Cassandra is not reachable at 127.0.0.1:{port} (")
    assert message.endswith("Connection refused); is it running? "
                            "`fleetwatch services start` starts the local one")
    debug = fleetwatch("--log-level", "debug", "ingest-status", FLEETWATCH_CASSANDRA_PORT=str(port))
    assert "ConnectionRefusedError" in debug.stderr and "Traceback" in debug.stderr


def test_a_node_without_tls_is_told_apart_from_one_not_running(cassandra):
    result = fleetwatch("ingest-status", FLEETWATCH_CASSANDRA_SSL="true")
    assert result.returncode == 1
    assert result.stderr.startswith("fleetwatch: TLS with Cassandra at 127.0.0.1:")
    assert "WRONG_VERSION_NUMBER" in result.stderr and "check cassandra.ssl" in result.stderr
    assert "is it running" not in result.stderr
