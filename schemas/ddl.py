"""Relational DDL rendered from the models, one file per dialect under sql/.

`python -m schemas.ddl` rewrites sql/<dialect>/schema.sql; a test fails when
the files drift from the models.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.dialects import oracle, postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from schemas.relational import TABLES

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect(),
            "oracle": oracle.dialect()}
SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def render(dialect_name: str) -> str:
    dialect = DIALECTS[dialect_name]
    parts = [f"-- {dialect_name} DDL of the fleetwatch relational tables.\n"
             "-- Generated from schemas/relational.py by `python -m schemas.ddl`; do not edit.\n"]
    for table in TABLES:
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";\n")
        for index in sorted(table.indexes, key=lambda item: item.name):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";\n")
    return "\n".join(parts)


def schema_path(dialect_name: str) -> Path:
    return SQL_DIR / dialect_name / "schema.sql"


def main() -> int:
    for name in DIALECTS:
        path = schema_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(name))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
