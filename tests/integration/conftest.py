"""Real services for integration tests: the project's local Cassandra (started
if not running, stopped afterwards if this session started it), a SparkSession
with the connector, SQLite and a throw-away PostgreSQL."""

from __future__ import annotations

import pytest

from spark_app.common.config import load_config
from tests.support.postgres import throwaway_postgres


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def config():
    return load_config()


@pytest.fixture(scope="session")
def cassandra(config):
    """A CQL session on the test keyspace, schema applied."""
    from spark_app.common.cassandra_session import apply_schema, cluster_from_config
    from spark_app.services.cassandra import LocalCassandra

    node = LocalCassandra(config)
    started_here = node.pid() is None
    node.start()
    cluster = cluster_from_config(config)
    session = cluster.connect()
    apply_schema(config, session)
    session.set_keyspace(config.get("cassandra", "keyspace"))
    try:
        yield session
    finally:
        cluster.shutdown()
        if started_here:
            node.stop()


@pytest.fixture(scope="session")
def spark(config, cassandra):
    from spark_app.common.spark_session import build_spark_session

    session = build_spark_session(config, app_name="fleetwatch-tests")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="session")
def postgres_url(config):
    with throwaway_postgres(config, config.var_dir / "test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Each relational test runs on SQLite and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleetwatch.db'}"
    url = request.getfixturevalue("postgres_url")
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:  # a clean schema for every test
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url):
    """The relational tables, created on the database of `db_url`."""
    from spark_app.common.relational import create_tables, engine_for_url

    engine = engine_for_url(db_url)
    create_tables(engine)
    yield engine
    engine.dispose()
