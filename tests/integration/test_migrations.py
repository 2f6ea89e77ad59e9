"""Schema migrations on real databases: a database and a keyspace made by
`db init` before migrations existed, with data in them, are upgraded and lose
nothing; a new revision or numbered CQL migration is applied once."""

import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from schemas.migrations import SCRIPT_LOCATION, SchemaMismatch, head_revision, upgrade
from schemas.migrations.baseline import baseline_metadata
from schemas.relational import Base
from spark_app.common.cassandra_session import apply_schema, cql_migrations
from spark_app.common.config import load_config
from spark_app.common.migration_steps import PYTHON_STEPS
from spark_app.common.relational import create_tables, engine_for_url, view_statements
from spark_app.common.schema_migrations import folder_migrations, upgrade_keyspace

BEFORE_MIGRATIONS = Path(__file__).parents[1] / "data" / "before_migrations"
# The tables as they were before migrations: rows go in and are read back through them.
BASELINE = baseline_metadata()
FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]


def fleetwatch(*args, env):
    return subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=600)


def statements(path: Path) -> list[str]:
    body = "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    return [part.strip() for part in body.split(";") if part.strip()]


def make_database_before_migrations(url: str) -> None:
    """What `fleetwatch db init` made before migrations: its schema.sql and views.sql."""
    engine = create_engine(url)
    dialect = engine.dialect.name
    with engine.begin() as connection:
        for file in ("schema.sql", "views.sql"):
            for statement in statements(BEFORE_MIGRATIONS / dialect / file):
                connection.execute(text(statement))
    engine.dispose()


ROWS = {
    "rules": [
        (1, "JAP", "#1.123.456.789 tti:120", "overheating", True,
         datetime(2016, 11, 1, 8, 0), datetime(2016, 11, 2, 9, 30)),
        (2, "KOM", "(#A E:20 #B) OU (#C E:30 #D) tti:40", None, False,
         datetime(2016, 11, 3, 10, 0), datetime(2016, 11, 3, 10, 0)),
    ],
    "violations": [
        (1, 1, "JAP00100", datetime(2016, 11, 16, 13, 34, 0, 123000),
         datetime(2016, 11, 17, 0, 31), "run-1"),
        (2, 1, "JAP00101", datetime(2016, 11, 16, 14, 0, 0, 5000),
         datetime(2016, 11, 17, 0, 31), "run-1"),
        (3, 2, "KOM00007", datetime(2016, 11, 16, 23, 59, 59, 999000),
         datetime(2016, 11, 17, 0, 31), None),
    ],
    "job_runs": [
        ("run-1", date(2016, 11, 16), datetime(2016, 11, 17, 0, 30), datetime(2016, 11, 17, 0, 31),
         "succeeded", 4000, 120, 3, '[{"rule_id": 9, "reason": "column 3"}]', "[]", None),
    ],
    "temperature_thresholds": [(1, "JAP00100", None, 95.5, datetime(2016, 11, 1))],
}
COLUMNS = {
    "rules": "id, model, expression, description, active, created_at, updated_at",
    "violations": "id, rule_id, serial_number, ts, detected_at, run_id",
    "job_runs": "run_id, day, started_at, finished_at, status, faults_read, pending_read, "
                "violations_new, rules_skipped, stage_metrics, error",
    "temperature_thresholds": "id, equipment_id, model, threshold_c, updated_at",
}


def insert_rows(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for table, rows in ROWS.items():
            names = COLUMNS[table].split(", ")
            connection.execute(insert(BASELINE.tables[table]),
                               [dict(zip(names, row, strict=True)) for row in rows])
    engine.dispose()


def stored_rows(engine) -> dict[str, list[tuple]]:
    """The rows of the baseline's columns, read with their types (SQLite keeps text)."""
    with engine.connect() as connection:
        return {table: [tuple(row) for row in connection.execute(
                    select(*[BASELINE.tables[table].c[name] for name in columns.split(", ")])
                    .order_by(text("1")))]
                for table, columns in COLUMNS.items()}


def recorded_revision(engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def differences_from_models(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def violations_per_rule(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT rule_id, violations, serials FROM violations_per_rule ORDER BY rule_id"))]


def test_a_database_made_before_migrations_is_stamped_and_upgraded_losing_nothing(
        db_url, cassandra, config):
    make_database_before_migrations(db_url)
    insert_rows(db_url)
    env = {"FLEETWATCH_DATABASE_URL": db_url}

    first = fleetwatch("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "database: tables made before migrations match the baseline, stamped 0001" \
        in first.stdout

    engine = engine_for_url(db_url)
    assert stored_rows(engine) == ROWS
    assert recorded_revision(engine) == head_revision()
    assert differences_from_models(engine) == []
    assert violations_per_rule(engine) == [(1, 2, 2), (2, 1, 1)]
    with engine.connect() as connection:  # 0002: rules made before severities are warnings
        assert connection.execute(text("SELECT id, severity, action FROM rules ORDER BY id")
                                  ).all() == [(1, "warning", None), (2, "warning", None)]

    second = fleetwatch("db", "upgrade", env=env)
    assert second.returncode == 0, second.stderr
    assert f"database: at revision {head_revision()}, nothing to upgrade" in second.stdout
    assert stored_rows(engine) == ROWS
    current = fleetwatch("db", "current", env=env)
    assert f"database: at revision {head_revision()} (latest {head_revision()})" in current.stdout
    keyspace = config.get("cassandra", "keyspace")
    assert f"cassandra: keyspace {keyspace} at schema version 15; up to date" in current.stdout
    engine.dispose()


def test_db_init_upgrades_an_empty_database_from_nothing(db_url, cassandra):
    env = {"FLEETWATCH_DATABASE_URL": db_url}
    result = fleetwatch("db", "init", env=env)
    assert result.returncode == 0, result.stderr
    assert f"database: upgraded from an empty database to {head_revision()}" in result.stdout
    engine = engine_for_url(db_url)
    assert recorded_revision(engine) == head_revision()
    assert differences_from_models(engine) == []
    assert violations_per_rule(engine) == []
    engine.dispose()


def test_tables_that_differ_from_the_baseline_are_refused_untouched(db_url, cassandra):
    make_database_before_migrations(db_url)
    engine = create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_violations_ts"))
    engine.dispose()

    result = fleetwatch("db", "upgrade", env={"FLEETWATCH_DATABASE_URL": db_url})
    assert result.returncode == 1
    assert "differ from the baseline 0001" in result.stderr
    assert "ix_violations_ts" in result.stderr
    engine = engine_for_url(db_url)
    assert "alembic_version" not in inspect(engine).get_table_names()
    engine.dispose()


OWNER_REVISION = '''"""Test revision: rules get an owner."""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    # On SQLite, copy `rules` into a new table under its violations and views.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("rules", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("owner", sa.String(16), nullable=False,
                                   server_default="fleet"))
'''


def test_a_new_revision_is_applied_once_and_keeps_the_data(db_url, tmp_path):
    scripts = tmp_path / "migrations"
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9001_rules_owner.py").write_text(
        OWNER_REVISION.format(head=head_revision()))
    make_database_before_migrations(db_url)
    insert_rows(db_url)
    engine = engine_for_url(db_url)
    views = view_statements(engine.dialect.name)

    upgraded = upgrade(engine, views, script_location=scripts)
    assert (upgraded.stamped, upgraded.after) == (True, "9001")
    assert stored_rows(engine) == ROWS
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, owner FROM rules ORDER BY id")).all() == [
            (1, "fleet"), (2, "fleet")]
    assert violations_per_rule(engine) == [(1, 2, 2), (2, 1, 1)]
    # The models lack the test column; nothing else differs.
    differences = differences_from_models(engine)
    assert [(kind, table, column.name) for kind, _schema, table, column in differences] == [
        ("remove_column", "rules", "owner")]
    # The rebuilt `rules` is still what violations refer to, and it is enforced.
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO violations (rule_id, serial_number, ts, detected_at) "
            "VALUES (77, 'X', '2016-11-16 00:00:00', '2016-11-17 00:00:00')"))

    again = upgrade(engine, views, script_location=scripts)
    assert (again.before, again.after, again.stamped) == ("9001", "9001", False)
    assert stored_rows(engine) == ROWS
    engine.dispose()


def test_create_tables_twice_is_one_upgrade_then_nothing(db_url):
    engine = engine_for_url(db_url)
    assert create_tables(engine).line() == f"upgraded from an empty database to {head_revision()}"
    assert create_tables(engine).line() == f"at revision {head_revision()}, nothing to upgrade"
    with pytest.raises(SchemaMismatch, match="differ from the baseline"):
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
            connection.execute(text("ALTER TABLE rules ADD COLUMN extra VARCHAR(8)"))
        create_tables(engine)
    engine.dispose()


# ---- Cassandra ----------------------------------------------------------------

TEST_KEYSPACE = "fleetwatch_migrations_test"
MIGRATIONS = [
    (1, "keyspace"), (2, "faults"), (3, "pending_faults"), (4, "rejected_messages"),
    (5, "temperature_windows"), (6, "feed_cursor"), (7, "temperature_alerts"),
    (8, "mail_outbox"), (9, "stream_rejects_metrics"), (10, "pending_generations"),
    (11, "ingest_rejects"), (12, "ingest_rejects_from_rejected_messages"),
    (14, "temperature_alert_episodes"), (15, "comments_retention")]
APPLIED = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15)


@pytest.fixture
def keyspace_config(cassandra):
    """A configuration naming a keyspace of its own, dropped before and after."""
    config = load_config(environ={**os.environ, "FLEETWATCH_CASSANDRA_KEYSPACE": TEST_KEYSPACE})
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {TEST_KEYSPACE}", timeout=60)
    yield config
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {TEST_KEYSPACE}", timeout=60)


def make_keyspace_before_migrations(config, session) -> None:
    """What apply_schema did before migrations: every statement of cql/001…010."""
    for migration in cql_migrations(config):
        if migration.version <= 10:
            for statement in migration.statements:
                session.execute(statement, timeout=60)


def recorded(session) -> list[tuple]:
    return [tuple(row) for row in session.execute(
        session.prepare(f"SELECT version, name, applied_at FROM {TEST_KEYSPACE}.schema_migrations "
                        "WHERE component = ?"), ("fleetwatch",))]


def fault_rows(session) -> list[tuple]:
    return [(row.day.date(), *row[1:]) for row in session.execute(
        f"SELECT day, shard, model, tag, serial_number, ts, received_at "
        f"FROM {TEST_KEYSPACE}.faults")]


def test_a_keyspace_made_before_migrations_records_every_version_with_rows_intact(
        cassandra, keyspace_config):
    make_keyspace_before_migrations(keyspace_config, cassandra)
    cassandra.execute(
        cassandra.prepare(f"INSERT INTO {TEST_KEYSPACE}.faults (day, shard, model, tag, "
                          "serial_number, ts, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        (date(2016, 11, 18), 3, "JAP", "#1.123.456.789", "JAP00100",
         datetime(2016, 11, 16, 13, 34, 0, 123000), datetime(2016, 11, 18, 20, 30)))
    cassandra.execute(
        cassandra.prepare(f"INSERT INTO {TEST_KEYSPACE}.feed_cursor (feed, next_url, updated_at) "
                          "VALUES (?, ?, ?)"),
        ("aemp", "/Fleet/FaultCodes?after=500", datetime(2016, 11, 18, 20, 30, 5)))

    first = apply_schema(keyspace_config, cassandra)
    assert (first.before, first.after, first.applied) == (None, 15, APPLIED)
    versions = recorded(cassandra)
    assert [(version, name) for version, name, _at in versions] == MIGRATIONS
    # Migration 015 gave the old tables their comments, compaction and TTL in place.
    options = {row.table_name: row for row in cassandra.execute(
        cassandra.prepare("SELECT table_name, comment, compaction, default_time_to_live "
                          "FROM system_schema.tables WHERE keyspace_name = ?"), (TEST_KEYSPACE,))}
    assert options["faults"].comment.startswith(
        "Serves: the daily job reading one received day, all shards: ")
    assert options["faults"].compaction["class"] == (
        "org.apache.cassandra.db.compaction.TimeWindowCompactionStrategy")
    assert options["feed_cursor"].compaction["class"] == (
        "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy")
    assert options["ingest_rejects"].default_time_to_live == 7776000
    assert fault_rows(cassandra) == [
        (date(2016, 11, 18), 3, "JAP", "#1.123.456.789", "JAP00100",
         datetime(2016, 11, 16, 13, 34, 0, 123000), datetime(2016, 11, 18, 20, 30))]
    assert [tuple(row) for row in cassandra.execute(
        f"SELECT feed, next_url FROM {TEST_KEYSPACE}.feed_cursor")] == [
        ("aemp", "/Fleet/FaultCodes?after=500")]

    second = apply_schema(keyspace_config, cassandra)
    assert (second.before, second.after, second.applied) == (15, 15, ())
    assert second.line() == f"keyspace {TEST_KEYSPACE} at schema version 15, nothing to apply"
    assert recorded(cassandra) == versions  # applied_at untouched: nothing ran again


def test_a_new_numbered_migration_is_applied_once(cassandra, keyspace_config, tmp_path):
    apply_schema(keyspace_config, cassandra)
    folder = tmp_path / "cql"
    shutil.copytree(Path(__file__).parents[2] / "cql", folder)
    (folder / "098_probe.cql").write_text(
        "-- Serves: nothing; a test table\n"
        "CREATE TABLE IF NOT EXISTS {keyspace}.probe (id int PRIMARY KEY, note text);\n")
    copies = []

    def copy_into_probe(session, keyspace):
        copies.append(keyspace)
        session.execute(f"INSERT INTO {keyspace}.probe (id, note) VALUES (1, 'copied')")

    migrations = folder_migrations(folder, TEST_KEYSPACE, "{'class': 'SimpleStrategy', "
                                   "'replication_factor': 1}",
                                   {**PYTHON_STEPS, 99: ("copy", copy_into_probe)})
    first = upgrade_keyspace(cassandra, TEST_KEYSPACE, migrations)
    assert (first.before, first.after, first.applied) == (15, 99, (98, 99))
    assert first.line() == f"keyspace {TEST_KEYSPACE} upgraded from version 15 to 99 (applied 98, 99)"
    assert [tuple(row) for row in cassandra.execute(
        f"SELECT id, note FROM {TEST_KEYSPACE}.probe")] == [(1, "copied")]

    second = upgrade_keyspace(cassandra, TEST_KEYSPACE, migrations)
    assert second.applied == ()
    assert copies == [TEST_KEYSPACE]
    assert [(version, name) for version, name, _at in recorded(cassandra)] == [
        *MIGRATIONS, (98, "probe"), (99, "copy")]
