"""The pure parts of both schema migrations: ordering and naming of the CQL
migrations, and the relational baseline against what db init made before."""

import re
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from schemas import ddl
from schemas.migrations import SCRIPT_LOCATION
from schemas.migrations.baseline import baseline_metadata
from spark_app.common.cassandra_session import CQL_DIR
from spark_app.common.schema_migrations import (
    Migration,
    MigrationError,
    folder_migrations,
    ordered,
    pending,
    split_statements,
    version_of,
)

BEFORE_MIGRATIONS = Path(__file__).parents[1] / "data" / "before_migrations"


def numbered(*versions: int) -> list[Migration]:
    return [Migration(version, f"m{version}") for version in versions]


def test_a_file_name_gives_version_and_name():
    assert version_of("010_pending_generations.cql") == (10, "pending_generations")
    assert version_of("1_keyspace.cql") == (1, "keyspace")


@pytest.mark.parametrize("name", ["keyspace.cql", "010-faults.cql", "010_faults.sql", "x10_a.cql"])
def test_a_file_not_named_nnn_name_is_refused(name):
    with pytest.raises(MigrationError, match="NNN_name.cql"):
        version_of(name)


def test_migrations_are_ordered_by_number_not_by_arrival():
    assert [m.version for m in ordered(numbered(10, 2, 11, 1))] == [1, 2, 10, 11]


def test_two_migrations_of_one_number_are_refused():
    with pytest.raises(MigrationError, match="two migrations numbered 3: m3 and other"):
        ordered([*numbered(1, 3), Migration(3, "other")])


def test_pending_are_the_unrecorded_ones_in_order():
    assert [m.version for m in pending(numbered(1, 2, 3, 4, 5), {1, 2, 4})] == [3, 5]
    assert pending(numbered(1, 2), {1, 2}) == []
    assert [m.version for m in pending(numbered(1, 2), set())] == [1, 2]


def test_a_keyspace_newer_than_the_code_is_refused():
    with pytest.raises(MigrationError, match=r"versions \[11, 12\] that this fleetwatch"):
        pending(numbered(1, 2, 10), {1, 2, 10, 11, 12})


def test_statements_are_split_and_comments_dropped():
    text = ("-- Serves: one query\nCREATE TABLE a (x int PRIMARY KEY);\n"
            "  -- another comment\nCREATE TABLE b (y int PRIMARY KEY)\n;\n")
    assert split_statements(text) == ("CREATE TABLE a (x int PRIMARY KEY)",
                                      "CREATE TABLE b (y int PRIMARY KEY)")


@pytest.mark.parametrize(("text", "statements"), [
    ("CREATE TABLE t (x int PRIMARY KEY) WITH comment = 'Serves: a; b -- c';",
     ("CREATE TABLE t (x int PRIMARY KEY) WITH comment = 'Serves: a; b -- c'",)),
    ("ALTER TABLE t WITH comment = 'it''s; here' // trailing; note\n;\nDROP TABLE u",
     ("ALTER TABLE t WITH comment = 'it''s; here'", "DROP TABLE u")),
    ('CREATE TABLE "odd;name" (\n  x int, -- the x; really\n  y int\n)',
     ('CREATE TABLE "odd;name" (\n  x int, \n  y int\n)',)),
    ("CREATE TABLE a (x int /* not; here */, y int);/* after; */",
     ("CREATE TABLE a (x int , y int)",)),
    ("CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java "
     "AS $$ return 1; $$;",
     ("CREATE FUNCTION f() RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java "
      "AS $$ return 1; $$",)),
    ("x = 10 - 2 / 1;", ("x = 10 - 2 / 1",)),
])
def test_a_semicolon_ends_a_statement_only_outside_strings_names_and_comments(text, statements):
    assert split_statements(text) == statements


@pytest.mark.parametrize(("text", "message"), [
    ("CREATE TABLE a (x int);\nALTER TABLE a WITH comment = 'open;", r"line 2: ' is never closed"),
    ('SELECT "x FROM a;', r'line 1: " is never closed'),
    ("SELECT x /* FROM a;", r"line 1: /\* is never closed"),
])
def test_an_unclosed_string_name_or_comment_is_refused_with_its_line(text, message):
    with pytest.raises(MigrationError, match=message):
        split_statements(text)


def test_the_project_migrations_are_numbered_in_order_with_keyspace_first():
    from spark_app.common.migration_steps import PYTHON_STEPS

    migrations = folder_migrations(CQL_DIR, "fw", "{'class': 'SimpleStrategy'}", PYTHON_STEPS)
    assert [(m.version, m.name) for m in migrations] == [
        (1, "keyspace"), (2, "faults"), (3, "pending_faults"), (4, "rejected_messages"),
        (5, "temperature_windows"), (6, "feed_cursor"), (7, "temperature_alerts"),
        (8, "mail_outbox"), (9, "stream_rejects_metrics"), (10, "pending_generations"),
        (11, "ingest_rejects"), (12, "ingest_rejects_from_rejected_messages"),
        (14, "temperature_alert_episodes"), (15, "comments_retention")]
    assert [m.version for m in migrations if m.step is not None] == [12]
    assert migrations[0].statements == (
        "CREATE KEYSPACE IF NOT EXISTS fw\n  WITH replication = {'class': 'SimpleStrategy'}",)
    every_statement = [s for m in migrations for s in m.statements]
    # Idempotent, so that a crash between applying and recording is harmless:
    # a CREATE only if missing, an ALTER only of table options (set again, unchanged).
    assert all(" IF NOT EXISTS " in s or re.fullmatch(r"ALTER TABLE fw\.\w+ WITH .*", s, re.DOTALL)
               for s in every_statement), every_statement


def test_python_steps_take_their_place_by_number(tmp_path):
    (tmp_path / "001_keyspace.cql").write_text("CREATE KEYSPACE IF NOT EXISTS {keyspace};")
    (tmp_path / "003_later.cql").write_text("CREATE TABLE IF NOT EXISTS {keyspace}.t (x int);")

    def copy(session, keyspace):
        pass

    migrations = folder_migrations(tmp_path, "fw", "", {2: ("copy_rows", copy)})
    assert [(m.version, m.name) for m in migrations] == [
        (1, "keyspace"), (2, "copy_rows"), (3, "later")]
    assert migrations[1].step is copy and migrations[1].statements == ()


@pytest.mark.parametrize("dialect", sorted(ddl.DIALECTS))
def test_the_relational_baseline_is_the_schema_db_init_made_before(dialect):
    """Revision 0001 creates exactly the tables, indexes and constraints of
    sql/<dialect>/schema.sql before migrations."""
    frozen = (BEFORE_MIGRATIONS / dialect / "schema.sql").read_text()
    assert ddl.render(dialect, baseline_metadata().sorted_tables) == frozen


def test_one_line_of_relational_revisions_starting_at_the_baseline():
    script = ScriptDirectory(str(SCRIPT_LOCATION))
    assert len(script.get_heads()) == 1
    assert [r.revision for r in script.walk_revisions()][-1] == "0001"


def test_revisions_are_numbered_in_sequence():
    from schemas.migrations.__main__ import next_revision_id

    assert next_revision_id("0001") == "0002"
    assert next_revision_id("0099") == "0100"


def test_a_new_revision_follows_the_head_and_the_models_need_none(tmp_path):
    """Autogenerate against a database at the head finds nothing to do: the
    revisions build exactly what the models describe."""
    import shutil

    from schemas.migrations.__main__ import write_revision

    scripts = tmp_path / "migrations"
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    head = ScriptDirectory(str(SCRIPT_LOCATION)).get_current_head()
    written = write_revision("rules get a severity", autogenerate=True, script_location=scripts)
    assert written.name == f"{int(head) + 1:04d}_rules_get_a_severity.py"
    source = written.read_text()
    assert f"down_revision = {head!r}" in source
    assert "op." not in source.split("def upgrade() -> None:")[1]
