"""Cassandra schema migrations. Each cql/NNN_name.cql is migration NNN (a
Python step may take a number too, for data copies); the keyspace records in
its schema_migrations table which migrations ran, and an upgrade applies the
others in order, recording each once it succeeded. Migrations stay idempotent
(IF NOT EXISTS), so a crash between applying and recording only repeats
harmless work."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# The name under which this schema's versions are recorded; the table's key
# leaves room for other components sharing the keyspace.
COMPONENT = "fleetwatch"
STATEMENT_TIMEOUT_S = 60

# Serves: which migrations ran, SELECT version FROM schema_migrations WHERE component = ?
VERSIONS_TABLE = """CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations (
  component   text,
  version     int,
  name        text,
  applied_at  timestamp,
  PRIMARY KEY (component, version)
)"""

_FILE_NAME = re.compile(r"(\d+)_(\w+)\.cql")

PythonStep = Callable[[object, str], None]  # (session, keyspace)
# Migrations written in Python (data copies), by version: (name, step). Each
# takes a number no .cql file has, and must be idempotent like the files.
PYTHON_STEPS: dict[int, tuple[str, PythonStep]] = {}


class MigrationError(RuntimeError):
    """The migrations on disk and the versions recorded cannot be reconciled."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...] = ()
    step: PythonStep | None = None

    def apply(self, session, keyspace: str) -> None:
        for statement in self.statements:
            session.execute(statement, timeout=STATEMENT_TIMEOUT_S)
        if self.step is not None:
            self.step(session, keyspace)


@dataclass(frozen=True)
class CqlUpgrade:
    keyspace: str
    before: int | None  # the highest version recorded before; None: none recorded
    after: int
    applied: tuple[int, ...]

    def line(self) -> str:
        if not self.applied:
            return f"keyspace {self.keyspace} at schema version {self.after}, nothing to apply"
        versions = ", ".join(str(version) for version in self.applied)
        start = "no version recorded" if self.before is None else f"version {self.before}"
        return (f"keyspace {self.keyspace} upgraded from {start} to {self.after} "
                f"(applied {versions})")


def folder_migrations(cql_dir: Path, keyspace: str, replication: str,
                      python_steps: Mapping[int, tuple[str, PythonStep]] = PYTHON_STEPS,
                      ) -> list[Migration]:
    """The migrations of a folder of NNN_name.cql files and of numbered Python
    steps, in version order, with keyspace and replication filled in."""
    found = []
    for path in sorted(cql_dir.glob("*.cql")):
        version, name = version_of(path.name)
        text = filled(path.read_text(), keyspace, replication)
        found.append(Migration(version, name, statements=split_statements(text)))
    found += [Migration(version, name, step=step)
              for version, (name, step) in python_steps.items()]
    return ordered(found)


def filled(text: str, keyspace: str, replication: str) -> str:
    """A migration's text with its keyspace and replication map in place (its
    comments keep the placeholders they explain)."""
    return "\n".join(
        line if line.lstrip().startswith("--")
        else line.replace("{keyspace}", keyspace).replace("{replication}", replication)
        for line in text.splitlines())


def version_of(file_name: str) -> tuple[int, str]:
    match = _FILE_NAME.fullmatch(file_name)
    if match is None:
        raise MigrationError(f"{file_name}: a CQL migration is named NNN_name.cql")
    return int(match.group(1)), match.group(2)


# CQL's lexical pieces that may hold a ";" or a comment marker which is not one:
# strings ('' escapes a quote), $$ strings, quoted names ("" escapes), and the
# comments themselves (--, //, /* */).
_CQL_PIECE = re.compile(r"""
      (?P<string>'(?:[^']|'')*')
    | (?P<dollar>\$\$.*?\$\$)
    | (?P<name>"(?:[^"]|"")*")
    | (?P<comment>--[^\n]*|//[^\n]*|/\*.*?\*/)
    | (?P<end>;)
    | (?P<open>'|\$\$|"|/\*)
    | (?P<code>[^'"$;/-]+|.)
    """, re.DOTALL | re.VERBOSE)


def split_statements(text: str) -> tuple[str, ...]:
    """The statements of a migration's text, comments dropped (a line holding
    only a comment goes whole); a ";" ends a statement only outside strings,
    quoted names and comments."""
    statements: list[str] = []
    current = ""
    drop_newline = False
    for piece in _CQL_PIECE.finditer(text):
        kind, value = piece.lastgroup, piece.group()
        if kind == "open":
            line = text.count("\n", 0, piece.start()) + 1
            raise MigrationError(f"line {line}: {value} is never closed")
        if drop_newline and value.startswith("\n"):
            value = value[1:]
        drop_newline = False
        if kind == "end":
            statements.append(current)
            current = ""
        elif kind == "comment":
            line_start = current.rfind("\n") + 1
            if not current[line_start:].strip() and not value.startswith("/*"):
                current, drop_newline = current[:line_start], True
        else:
            current += value
    statements.append(current)
    return tuple(statement.strip() for statement in statements if statement.strip())


def ordered(migrations: Iterable[Migration]) -> list[Migration]:
    """By version; two migrations of one version are refused."""
    by_version: dict[int, Migration] = {}
    for migration in migrations:
        other = by_version.setdefault(migration.version, migration)
        if other is not migration:
            raise MigrationError(f"two migrations numbered {migration.version}: "
                                 f"{other.name} and {migration.name}")
    return [by_version[version] for version in sorted(by_version)]


def pending(migrations: list[Migration], recorded: Collection[int]) -> list[Migration]:
    """The migrations not recorded yet, in order. A recorded version this code
    does not know means the keyspace is newer than it: refused."""
    known = {migration.version for migration in migrations}
    unknown = sorted(set(recorded) - known)
    if unknown:
        raise MigrationError(f"the keyspace records schema versions {unknown} that this "
                             "fleetwatch does not know: it was upgraded by a newer release")
    return [migration for migration in migrations if migration.version not in recorded]


class SchemaVersions:
    """The schema_migrations table of one keyspace (which must exist)."""

    def __init__(self, session, keyspace: str):
        self._session = session
        self._select = session.prepare(
            f"SELECT version FROM {keyspace}.schema_migrations WHERE component = ?")
        self._insert = session.prepare(
            f"INSERT INTO {keyspace}.schema_migrations (component, version, name, applied_at) "
            "VALUES (?, ?, ?, ?)")

    def recorded(self) -> set[int]:
        return {row.version for row in self._session.execute(self._select, (COMPONENT,))}

    def record(self, migration: Migration) -> None:
        self._session.execute(self._insert, (COMPONENT, migration.version, migration.name,
                                             datetime.now(UTC)))


def upgrade_keyspace(session, keyspace: str, migrations: list[Migration]) -> CqlUpgrade:
    """Apply the migrations the keyspace has not recorded, in order. The first
    one creates the keyspace (IF NOT EXISTS) and runs every time: the record
    of versions lives inside it."""
    if not migrations:
        raise MigrationError("no schema migrations found")
    migrations[0].apply(session, keyspace)
    session.execute(VERSIONS_TABLE.format(keyspace=keyspace), timeout=STATEMENT_TIMEOUT_S)
    versions = SchemaVersions(session, keyspace)
    recorded = versions.recorded()
    todo = pending(migrations, recorded)
    for migration in todo:
        migration.apply(session, keyspace)
        versions.record(migration)
    return CqlUpgrade(keyspace=keyspace, before=max(recorded, default=None),
                      after=migrations[-1].version,
                      applied=tuple(migration.version for migration in todo))


def recorded_versions(session, keyspace: str) -> set[int] | None:
    """The versions a keyspace records, or None when it has no schema_migrations
    table (a keyspace made before migrations, or none at all)."""
    exists = session.execute(
        session.prepare("SELECT table_name FROM system_schema.tables "
                        "WHERE keyspace_name = ? AND table_name = ?"),
        (keyspace, "schema_migrations")).one()
    return SchemaVersions(session, keyspace).recorded() if exists else None
