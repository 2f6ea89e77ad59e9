"""Relational DDL rendered from the models, and the analyst views, one file
each per dialect under sql/.

`python -m schemas.ddl` rewrites sql/<dialect>/schema.sql and views.sql; a test
fails when the files drift from what is rendered here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Integer, String, Table, column
from sqlalchemy import table as view_table
from sqlalchemy.dialects import oracle, postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from schemas.relational import TABLES, UtcTimestamp

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect(),
            "oracle": oracle.dialect()}
SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def render(dialect_name: str, tables: Sequence[Table] = TABLES) -> str:
    dialect = DIALECTS[dialect_name]
    parts = [f"-- {dialect_name} DDL of the fleetwatch relational tables.\n"
             "-- Generated from schemas/relational.py by `python -m schemas.ddl`; do not edit.\n"]
    for table in tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";\n")
        for index in sorted(table.indexes, key=lambda item: item.name):
            parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";\n")
    return "\n".join(parts)


def schema_path(dialect_name: str) -> Path:
    return SQL_DIR / dialect_name / "schema.sql"


# The analyst views, written once; dialects differ only in how a view is
# (re)created idempotently and in the day of a TIMESTAMP.
VIEW_DIALECTS = {
    "sqlite": {"create": "CREATE VIEW IF NOT EXISTS", "day": "date(v.ts)"},
    "postgresql": {"create": "CREATE OR REPLACE VIEW", "day": "CAST(v.ts AS DATE)"},
    "oracle": {"create": "CREATE OR REPLACE VIEW", "day": "TRUNC(v.ts)"},
}
VIEWS = """-- Violations per day of their instant: the thesis's Fig. 5.1.
{create} violations_per_day AS
SELECT {day} AS day,
       COUNT(*) AS violations,
       COUNT(DISTINCT v.serial_number) AS serials,
       COUNT(DISTINCT v.rule_id) AS rules
FROM violations v
GROUP BY {day};

-- Per rule, including rules that never matched.
{create} violations_per_rule AS
SELECT r.id AS rule_id, r.model, r.expression, r.active,
       COUNT(v.id) AS violations,
       COUNT(DISTINCT v.serial_number) AS serials,
       MIN(v.ts) AS first_ts,
       MAX(v.ts) AS last_ts
FROM rules r
LEFT JOIN violations v ON v.rule_id = r.id
GROUP BY r.id, r.model, r.expression, r.active;

-- Per equipment model.
{create} violations_per_model AS
SELECT r.model,
       COUNT(v.id) AS violations,
       COUNT(DISTINCT v.serial_number) AS serials,
       COUNT(DISTINCT r.id) AS rules
FROM rules r
LEFT JOIN violations v ON v.rule_id = r.id
GROUP BY r.model;

-- Per serial number; order by violations for the top serials (sql/README.md).
{create} violations_per_serial AS
SELECT v.serial_number, r.model,
       COUNT(*) AS violations,
       COUNT(DISTINCT v.rule_id) AS rules,
       MAX(v.ts) AS last_ts
FROM violations v
JOIN rules r ON r.id = v.rule_id
GROUP BY v.serial_number, r.model;

-- Every violation with its rule's severity and action, its machine's site and
-- team (NULL: not in the registry), its lifecycle state, and whether a silence
-- covers it (by the violation's instant: a backfill answers as live did).
{create} violations_detail AS
SELECT v.id, v.rule_id, v.rule_version, r.model, r.severity, r.action, v.serial_number, v.ts,
       v.detected_at, v.run_id, e.site, e.team,
       COALESCE(st.state, 'open') AS state,
       CASE WHEN EXISTS (
           SELECT 1 FROM silences s
           WHERE s.starts_at <= v.ts AND v.ts < s.ends_at
             AND (s.expired_at IS NULL OR v.ts < s.expired_at)
             AND (s.serial_number = v.serial_number OR s.model = r.model
                  OR s.rule_id = v.rule_id OR s.site = e.site))
       THEN 1 ELSE 0 END AS silenced
FROM violations v
JOIN rules r ON r.id = v.rule_id
LEFT JOIN equipment e ON e.serial_number = v.serial_number
LEFT JOIN violation_states st ON st.violation_id = v.id;

-- The morning meeting: per serial, its violations not resolved yet and how old
-- the oldest is.
{create} open_violations_per_serial AS
SELECT d.serial_number, d.model, d.site, d.team,
       SUM(CASE WHEN d.state = 'open' THEN 1 ELSE 0 END) AS open_count,
       SUM(CASE WHEN d.state = 'acknowledged' THEN 1 ELSE 0 END) AS acknowledged_count,
       MIN(d.ts) AS oldest_ts,
       MAX(d.ts) AS newest_ts
FROM violations_detail d
WHERE d.state <> 'resolved'
GROUP BY d.serial_number, d.model, d.site, d.team;

-- Temperature breach episodes with the machine's site and team (NULL: not in
-- the registry; the reading's equipment_id is the registry's serial_number).
{create} temperature_breaches_detail AS
SELECT b.id, b.equipment_id, b.model, e.site, e.team, b.threshold_c, b.started_at,
       b.ended_at, b.peak_average_c, b.emails_sent, b.silenced
FROM temperature_breaches b
LEFT JOIN equipment e ON e.serial_number = b.equipment_id;
"""
# What an upgrade drops before a revision touches the tables under them; a view
# that reads another is dropped first.
VIEW_NAMES = tuple(reversed(re.findall(r"^\{create\} (\w+) AS$", VIEWS, flags=re.MULTILINE)))
# The view as the code queries it.
VIOLATIONS_DETAIL = view_table(
    "violations_detail",
    column("id", Integer), column("rule_id", Integer), column("rule_version", Integer),
    column("model", String), column("severity", String), column("action", String),
    column("serial_number", String),
    column("ts", UtcTimestamp), column("detected_at", UtcTimestamp), column("run_id", String),
    column("site", String), column("team", String), column("state", String),
    column("silenced", Integer))
OPEN_VIOLATIONS_PER_SERIAL = view_table(
    "open_violations_per_serial",
    column("serial_number", String), column("model", String), column("site", String),
    column("team", String), column("open_count", Integer), column("acknowledged_count", Integer),
    column("oldest_ts", UtcTimestamp), column("newest_ts", UtcTimestamp))


def render_views(dialect_name: str) -> str:
    return (f"-- Analyst views over rules and violations ({dialect_name}). Applied by "
            "`fleetwatch db init`;\n-- re-applying changes nothing. Instants are UTC. "
            "Generated by `python -m schemas.ddl`.\n\n"
            + VIEWS.format(**VIEW_DIALECTS[dialect_name]))


def views_path(dialect_name: str) -> Path:
    return SQL_DIR / dialect_name / "views.sql"


def main() -> int:
    for name in DIALECTS:
        path = schema_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(name))
        views_path(name).write_text(render_views(name))
        print(f"wrote {path} and {views_path(name).name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
