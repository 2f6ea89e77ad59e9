"""cassandra-driver sessions built from configuration, and the CQL schema's migrations."""

from __future__ import annotations

import ssl
from contextlib import contextmanager

from spark_app.common.config import PROJECT_HOME, Config
from spark_app.common.schema_migrations import (
    CqlUpgrade,
    Migration,
    folder_migrations,
    upgrade_keyspace,
)

CQL_DIR = PROJECT_HOME / "cql"


def cluster_from_config(config: Config, **overrides):
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    username = config.get("cassandra", "username")
    password = config.secret("cassandra", "password")
    auth = PlainTextAuthProvider(username, password or "") if username else None
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=config.get("cassandra", "local_dc") or None)),
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


def cql_migrations(config: Config) -> list[Migration]:
    """The schema's migrations, with keyspace and replication filled in."""
    from spark_app.common.migration_steps import PYTHON_STEPS

    return folder_migrations(CQL_DIR, config.get("cassandra", "keyspace"),
                             config.get("cassandra", "replication"), PYTHON_STEPS)


def apply_schema(config: Config, session) -> CqlUpgrade:
    """Create or upgrade the keyspace and its tables to the latest schema version."""
    return upgrade_keyspace(session, config.get("cassandra", "keyspace"), cql_migrations(config))
