"""Failures of the relational database through the command line, against the
real PostgreSQL: each says which one it is and what to do, never a traceback."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, make_url, text

from spark_app.services.process import free_port


def runs(url):
    return subprocess.run([sys.executable, "-m", "spark_app.cli", "runs"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "FLEETWATCH_DATABASE_URL": url})


def as_user(url: str, user: str, database: str | None = None) -> str:
    """The test server's URL (a unix socket) for another user and database."""
    parsed = make_url(url).set(username=user)
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@pytest.fixture
def empty_database(postgres_url):
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return postgres_url


def test_tables_not_created_yet(empty_database):
    result = runs(empty_database)
    assert result.returncode == 1
    assert result.stderr.startswith('fleetwatch: relation "job_runs" does not exist')
    assert result.stderr.endswith("; `fleetwatch db init` creates the tables\n")


def test_a_database_that_does_not_exist(postgres_url):
    result = runs(as_user(postgres_url, "postgres", database="no_such_db"))
    assert (result.returncode, result.stderr) == (1, (
        "fleetwatch: the database server has no database no_such_db: create it (`createdb`), "
        "or fix database.url (FLEETWATCH_DATABASE_URL)\n"))


def test_a_refused_login(postgres_url):
    result = runs(as_user(postgres_url, "nobody"))
    assert result.returncode == 1
    assert result.stderr.startswith("fleetwatch: the database refused the login (")
    assert 'role "nobody" does not exist' in result.stderr
    assert result.stderr.endswith("): check the user and password of database.url "
                                  "(FLEETWATCH_DATABASE_URL)\n")


def test_a_server_that_is_not_running():
    # a TCP port nothing listens on (the test server listens on its unix socket only)
    result = runs(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/fleetwatch")
    assert result.returncode == 1
    assert result.stderr.startswith("fleetwatch: the database is not reachable (")
    assert "Connection refused" in result.stderr
    assert result.stderr.endswith("); is it running, and is database.url "
                                  "(FLEETWATCH_DATABASE_URL) right?\n")
