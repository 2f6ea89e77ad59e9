"""The rendered schema run by a real cqlsh (the PyPI package) against the local
node: it builds the tables `db init` builds, each with its comment, and
`DESCRIBE KEYSPACE` shows them."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spark_app.common.cassandra_session import apply_schema
from spark_app.common.config import load_config

KEYSPACE = "fleetwatch_cqlsh_test"
CQLSH = Path(sys.executable).parent / "cqlsh"
TABLES = {"faults", "pending_faults", "rejected_messages", "temperature_windows", "feed_cursor",
          "temperature_alerts", "mail_outbox", "mail_pending", "rejected_readings",
          "stream_metrics", "pending_generations", "ingest_rejects", "schema_migrations",
          "purges"}


def cqlsh(config, tmp_path, *args):
    port = str(config.get("cassandra", "port"))
    return subprocess.run([str(CQLSH), "127.0.0.1", port, *args], capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "HOME": str(tmp_path)})  # its ~/.cassandra


def tables_of(session, keyspace):
    return {row.table_name for row in session.execute(
        session.prepare("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?"),
        (keyspace,))}


@pytest.fixture
def fresh_keyspace(cassandra):
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=60)
    yield KEYSPACE
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}", timeout=60)


def test_cqlsh_runs_the_rendered_schema_and_describe_shows_every_comment(
        cassandra, config, fresh_keyspace, tmp_path):
    schema = tmp_path / "schema.cql"
    rendered = subprocess.run([sys.executable, "-m", "spark_app.common.cql_schema",
                               "--keyspace", KEYSPACE], capture_output=True, text=True,
                              check=True)
    schema.write_text(rendered.stdout)

    first = cqlsh(config, tmp_path, "-f", str(schema))
    assert (first.returncode, first.stderr) == (0, "")
    again = cqlsh(config, tmp_path, "-f", str(schema))  # idempotent
    assert (again.returncode, again.stderr) == (0, "")

    described = cqlsh(config, tmp_path, "-e", f"DESCRIBE KEYSPACE {KEYSPACE}")
    assert described.returncode == 0, described.stderr
    comments = dict(re.findall(rf"CREATE TABLE {KEYSPACE}\.(\w+) \(.*?AND comment = '(.*?)'\n",
                               described.stdout, flags=re.DOTALL))
    assert set(comments) == TABLES
    assert all(text.startswith(("Serves: ", "Legacy, superseded by ingest_rejects"))
               for text in comments.values()), comments
    assert comments["faults"] == (
        "Serves: the daily job reading one received day, all shards: SELECT ... FROM faults "
        "WHERE day = ? AND shard IN (...), and ingestion upserting one fault (same key, same "
        "fault). Partition (day received, shard = crc32(serial_number) mod cassandra.shards). "
        "Retention: kept until fleetwatch purge faults --before D, which refuses to cut into "
        "the daily horizon.")
    assert comments["schema_migrations"] == (
        "Serves: which schema migrations ran: SELECT version FROM schema_migrations "
        "WHERE component = ?. Retention: kept.")
    faults_ddl = described.stdout.split(f"CREATE TABLE {KEYSPACE}.faults (")[1].split(";")[0]
    assert ("AND compaction = {'class': 'org.apache.cassandra.db.compaction."
            "TimeWindowCompactionStrategy', 'compaction_window_size': '1', "
            "'compaction_window_unit': 'DAYS'") in faults_ddl

    # The same tables as `db init` makes in the test keyspace.
    assert tables_of(cassandra, KEYSPACE) == tables_of(cassandra, config.get("cassandra",
                                                                             "keyspace"))
    # fleetwatch takes such a keyspace over: it applies (harmlessly) and records every version.
    ours = load_config(environ={**os.environ, "FLEETWATCH_CASSANDRA_KEYSPACE": KEYSPACE})
    upgraded = apply_schema(ours, cassandra)
    assert upgraded.line() == (f"keyspace {KEYSPACE} upgraded from no version recorded to 15 "
                               "(applied 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15)")
