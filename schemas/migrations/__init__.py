"""Relational schema migrations with Alembic, configured in code.

The environment (env.py, script.py.mako, versions/) lives in this package;
`upgrade` hands Alembic an open connection, so the database URL and its
password never go through a file. Revision 0001 is the schema `fleetwatch db
init` created before migrations; a database made then (tables, no
alembic_version) is recognised by comparing its tables with that baseline,
stamped at 0001, then upgraded like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from schemas.ddl import VIEW_NAMES
from schemas.migrations.baseline import baseline_metadata

SCRIPT_LOCATION = Path(__file__).resolve().parent
BASELINE_REVISION = "0001"


class SchemaMismatch(RuntimeError):
    """The database has fleetwatch tables but no recorded revision, and its tables
    differ from the baseline: upgrading it would be guesswork."""


@dataclass(frozen=True)
class RelationalUpgrade:
    before: str | None  # the recorded revision before; None: nothing recorded
    after: str
    stamped: bool  # tables made before migrations were recognised as the baseline

    def line(self) -> str:
        if self.stamped:
            start = f"tables made before migrations match the baseline, stamped {BASELINE_REVISION}"
            return (f"{start}; upgraded to {self.after}" if self.after != BASELINE_REVISION
                    else f"{start}; at the latest revision")
        if self.before == self.after:
            return f"at revision {self.after}, nothing to upgrade"
        return f"upgraded from {self.before or 'an empty database'} to {self.after}"


def alembic_config(connection: Connection | None,
                   script_location: Path = SCRIPT_LOCATION) -> Config:
    """Alembic's configuration in code; `connection` is what env.py migrates (None:
    writing a revision, which touches no database)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["connection"] = connection
    return config


def head_revision(script_location: Path = SCRIPT_LOCATION) -> str:
    return ScriptDirectory(str(script_location)).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, view_statements: Sequence[str],
            script_location: Path = SCRIPT_LOCATION) -> RelationalUpgrade:
    """Upgrade to the head revision, then (re)create the analyst views;
    re-running changes nothing."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies a table, drops the old one and renames the copy:
            # with foreign keys on, dropping `rules` under its violations fails.
            # The pragma is ignored inside a transaction, hence before it.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                result = _upgrade(connection, view_statements, script_location)
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return result


def _upgrade(connection: Connection, view_statements: Sequence[str],
             script_location: Path) -> RelationalUpgrade:
    config = alembic_config(connection, script_location)
    head = head_revision(script_location)
    before = current_revision(connection)
    stamped = before is None and _has_baseline_tables(connection)
    if stamped:
        _check_matches_baseline(connection)
        command.stamp(config, BASELINE_REVISION)
    if current_revision(connection) != head:
        # The views read the tables a revision may rebuild (SQLite) or retype
        # (PostgreSQL refuses under a view); they are created again below.
        _drop_views(connection)
        command.upgrade(config, "head")
    for statement in view_statements:
        connection.execute(text(statement))
    return RelationalUpgrade(before=before, after=head, stamped=stamped)


def _has_baseline_tables(connection: Connection) -> bool:
    present = set(inspect(connection).get_table_names())
    return bool(present & set(baseline_metadata().tables))


def _check_matches_baseline(connection: Connection) -> None:
    context = MigrationContext.configure(connection)
    differences = compare_metadata(context, baseline_metadata())
    if differences:
        listed = "; ".join(str(difference) for difference in differences)
        raise SchemaMismatch("the database has fleetwatch tables but no alembic_version, and "
                             f"they differ from the baseline {BASELINE_REVISION}: {listed}")


def _drop_views(connection: Connection) -> None:
    present = set(inspect(connection).get_view_names())
    for name in VIEW_NAMES:
        if name in present:
            connection.execute(text(f"DROP VIEW {name}"))


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise SchemaMismatch(f"the upgrade left rows whose foreign key points nowhere: {broken}")
