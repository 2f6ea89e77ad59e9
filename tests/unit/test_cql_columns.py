"""Every CQL statement the application writes by hand names only tables and
columns of schemas/spark.py: the one definition of each Cassandra table (the
integration test test_cassandra_tables_match_their_spark_schemas checks that
definition against the live tables)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from schemas.spark import CASSANDRA_TABLES

SPARK_APP = Path(__file__).resolve().parents[2] / "spark_app"
TABLE = r"(?:\{[a-z_]+\}\.)?([a-z_]+)"
INSERT = re.compile(r"INSERT INTO " + TABLE + r"\s*\(([^)]*)\)", re.I)
SELECT = re.compile(r"SELECT (.+?) FROM " + TABLE, re.I | re.S)
WHERE = re.compile(r"FROM " + TABLE + r"\s+WHERE (.+?)(?:ALLOW|LIMIT|$)", re.I | re.S)
CQL_TABLES = set(CASSANDRA_TABLES) | {"system_schema", "local", "schema_migrations"}


def _string_constants(path: Path) -> list[str]:
    """Each string literal, with the parts of an f-string joined ({x} kept as text)."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.JoinedStr):
            texts.append("".join(part.value if isinstance(part, ast.Constant)
                                 else "{" + ast.unparse(part.value) + "}"
                                 for part in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts.append(node.value)
    return texts


def _statements() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SPARK_APP.rglob("*.py")):
        for text in _string_constants(path):
            if re.search(r"\b(INSERT INTO|SELECT|DELETE FROM|UPDATE)\b", text):
                found.append((str(path.relative_to(SPARK_APP)), " ".join(text.split())))
    return found


def _columns(listing: str) -> set[str]:
    return {column.strip() for column in listing.split(",") if column.strip()} - {"*"}


CASSANDRA_STATEMENTS = [(where, text) for where, text in _statements()
                        if "{" in text or any(f" {t} " in f" {text} " for t in CASSANDRA_TABLES)]


def test_there_are_statements_to_check():
    assert len(CASSANDRA_STATEMENTS) >= 10


@pytest.mark.parametrize("where, statement", CASSANDRA_STATEMENTS)
def test_cql_names_only_columns_of_the_table_definition(where, statement):
    for table, listing in INSERT.findall(statement):
        if table in CASSANDRA_TABLES and "{" not in listing:
            fields = set(CASSANDRA_TABLES[table].fieldNames())
            assert _columns(listing) <= fields, (where, statement)
    for listing, table in SELECT.findall(statement):
        if table in CASSANDRA_TABLES and "(" not in listing and "{" not in listing:
            fields = set(CASSANDRA_TABLES[table].fieldNames())
            assert _columns(listing) <= fields, (where, statement)
    for table, condition in WHERE.findall(statement):
        if table in CASSANDRA_TABLES:
            fields = set(CASSANDRA_TABLES[table].fieldNames())
            named = set(re.findall(r"([a-z_]+)\s*(?:=|IN\b|<|>)", condition, re.I))
            assert named <= fields, (where, statement)


def test_column_lists_built_in_code_are_the_tables_columns():
    from dataclasses import fields

    from spark_app.alerts.state_machine import AlertState
    from spark_app.stream.metrics import BatchMetrics

    assert [f.name for f in fields(BatchMetrics)] == CASSANDRA_TABLES["stream_metrics"].fieldNames()
    alert_columns = set(CASSANDRA_TABLES["temperature_alerts"].fieldNames()) - {"updated_at"}
    assert alert_columns <= {f.name for f in fields(AlertState)}
