"""The rendered Cassandra schema (cql/rendered/fleetwatch.cql) and the comments
every table carries: pure text, no Cassandra."""

import re

from spark_app.common import cql_schema
from spark_app.common.cassandra_session import CQL_DIR
from spark_app.common.migration_steps import PYTHON_STEPS
from spark_app.common.schema_migrations import VERSIONS_TABLE, folder_migrations

REPLICATION = "{'class': 'SimpleStrategy', 'replication_factor': 1}"


def test_the_rendered_schema_is_what_the_migrations_render():
    """Run `python -m spark_app.common.cql_schema` after adding a migration."""
    assert cql_schema.RENDERED.read_text() == cql_schema.render()


def test_the_rendered_schema_holds_every_statement_of_db_init_in_order():
    statements = [s for m in folder_migrations(CQL_DIR, "fleetwatch", REPLICATION, PYTHON_STEPS)
                  for s in m.statements]
    statements.insert(1, VERSIONS_TABLE.format(keyspace="fleetwatch"))
    rendered = cql_schema.RENDERED.read_text()
    body = "\n".join(line for line in rendered.splitlines() if not line.startswith("--"))
    # Statements end with ';' and the comments hold none: split on ';' and compare whole.
    assert [part.strip() for part in body.split(";") if part.strip()] == statements
    assert "{keyspace}" not in body and "{replication}" not in body


def test_another_keyspace_is_rendered_with_its_own_name_and_replication(capsys):
    assert cql_schema.main(["--keyspace", "plant7", "--replication",
                            "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"]) == 0
    printed = capsys.readouterr().out
    assert "CREATE KEYSPACE IF NOT EXISTS plant7\n  WITH replication = " \
           "{'class': 'NetworkTopologyStrategy', 'dc1': 3};" in printed
    assert "CREATE TABLE IF NOT EXISTS plant7.faults (" in printed
    assert "fleetwatch." not in printed


def test_every_table_says_which_query_it_serves_in_its_comment():
    """A new table carries `WITH comment = 'Serves: …'` in its CREATE, or gets
    it from an ALTER of a later migration."""
    statements = [s for m in folder_migrations(CQL_DIR, "fw", REPLICATION, PYTHON_STEPS)
                  for s in m.statements]
    statements.append(VERSIONS_TABLE.format(keyspace="fw"))
    created = {match[1] for s in statements
               if (match := re.match(r"CREATE TABLE IF NOT EXISTS fw\.(\w+)", s))}
    commented = {match[1] for s in statements
                 if (match := re.match(r"(?:CREATE TABLE IF NOT EXISTS|ALTER TABLE) fw\.(\w+)"
                                       r"[^;]*\bcomment = '(?:Serves|Legacy)", s, re.DOTALL))}
    assert created == commented
    assert len(created) == 14
