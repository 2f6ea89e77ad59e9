"""cassandra-driver sessions built from configuration, and the CQL schema."""

from __future__ import annotations

import ssl
from contextlib import contextmanager
from pathlib import Path

from spark_app.config import PROJECT_HOME, Config

CQL_DIR = PROJECT_HOME / "cql"


def cluster_from_config(config: Config, **overrides):
    from cassandra import ConsistencyLevel
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    username = config.get("cassandra", "username")
    password = config.secret("cassandra", "password")
    auth = PlainTextAuthProvider(username, password or "") if username else None
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=config.get("cassandra", "local_dc") or None)),
        consistency_level=ConsistencyLevel.name_to_value[config.get("cassandra", "consistency")],
        request_timeout=overrides.pop("request_timeout", 30))
    return Cluster(
        contact_points=config.get("cassandra", "hosts"),
        port=config.get("cassandra", "port"),
        auth_provider=auth,
        ssl_context=ssl.create_default_context() if config.get("cassandra", "ssl") else None,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # Cassandra 4.1+ and 5.0 speak v5; fixing it avoids a noisy negotiation.
        protocol_version=overrides.pop("protocol_version", 5),
        **overrides,
    )


@contextmanager
def cassandra_session(config: Config, keyspace: str | None = None):
    """A connected session (to the configured keyspace unless told otherwise)."""
    cluster = cluster_from_config(config)
    try:
        yield cluster.connect(keyspace)
    finally:
        cluster.shutdown()


def cql_statements(config: Config) -> list[str]:
    """The schema's statements, with keyspace and replication filled in."""
    keyspace = config.get("cassandra", "keyspace")
    replication = config.get("cassandra", "replication")
    statements = []
    for path in sorted(CQL_DIR.glob("*.cql")):
        text = _strip_comments(path)
        text = text.replace("{keyspace}", keyspace).replace("{replication}", replication)
        statements += [part.strip() for part in text.split(";") if part.strip()]
    return statements


def _strip_comments(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("--"))


def apply_schema(config: Config, session) -> int:
    """Create the keyspace and tables (IF NOT EXISTS); returns the statement count."""
    statements = cql_statements(config)
    for statement in statements:
        session.execute(statement, timeout=60)
    return len(statements)
