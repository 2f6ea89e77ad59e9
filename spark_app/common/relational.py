"""The relational database: engine from configuration and schema migrations."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from schemas.ddl import SQL_DIR
from spark_app.common.config import Config, ConfigError, env_name

if TYPE_CHECKING:
    from schemas.migrations import RelationalUpgrade


@cache
def engine_for_url(url: str) -> Engine:
    """One engine per URL and process (Spark's Python workers reuse it across tasks)."""
    sqlite = url.startswith("sqlite")
    engine = create_engine(url, future=True, pool_pre_ping=True,
                           connect_args={"timeout": 120} if sqlite else {})
    if sqlite:
        @event.listens_for(engine, "connect")
        def _sqlite_settings(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # Foreign keys are enforced only when asked, per connection. WAL
            # with synchronous=NORMAL makes a commit an append, not two
            # fsyncs. A 256 MiB page cache keeps the violations' indexes in
            # memory while a day's violations go in (the default is 2 MiB).
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA cache_size=-262144")
            cursor.close()
    return engine


def engine_from_config(config: Config) -> Engine:
    url = config.database_url()
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        # Not the parser's message: it quotes the URL, password and all.
        raise ConfigError(f"database.url ({env_name('database', 'url')}) is not a database "
                          "URL (dialect+driver://user@host:port/database)") from None
    if url.startswith("sqlite:///"):
        from pathlib import Path
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    return engine_for_url(url)


def create_tables(engine: Engine) -> RelationalUpgrade:
    """Upgrade the tables to the latest revision and (re)create the analyst views;
    re-running changes nothing."""
    # Imported here: Spark's Python workers import this module for its engine alone.
    from schemas.migrations import upgrade

    return upgrade(engine, view_statements(engine.dialect.name))


def view_statements(dialect_name: str) -> list[str]:
    path = SQL_DIR / dialect_name / "views.sql"
    body = "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in body.split(";") if statement.strip()]


def database_failure(error: BaseException) -> str | None:
    """What went wrong with the relational database and what to do, in one line;
    None for anything else. A server that is not running, a refused login, a
    database that does not exist and tables not created yet each say so."""
    from sqlalchemy.exc import DBAPIError

    if not isinstance(error, DBAPIError):
        return None
    text = str(error.orig if error.orig is not None else error).strip()
    first = " ".join(line.strip() for line in text.splitlines()[:2])
    if "password authentication failed" in text or re.search(r'role "[^"]+" does not exist',
                                                             text):
        return (f"the database refused the login ({first}): check the user and password "
                "of database.url (FLEETWATCH_DATABASE_URL)")
    missing_database = re.search(r'database "([^"]+)" does not exist', text)
    if missing_database:
        return (f"the database server has no database {missing_database.group(1)}: create it "
                "(`createdb`), or fix database.url (FLEETWATCH_DATABASE_URL)")
    if "no such table" in text or re.search(r'relation "[^"]+" does not exist', text):
        return f"{first}; `fleetwatch db init` creates the tables"
    if isinstance(error, OperationalError):
        return (f"the database is not reachable ({first}); is it running, and is "
                "database.url (FLEETWATCH_DATABASE_URL) right?")
    return None
