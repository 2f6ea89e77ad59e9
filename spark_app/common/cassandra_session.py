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
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=config.get("cassandra", "local_dc") or None)),
        request_timeout=overrides.pop("request_timeout", 30))
    return Cluster(
        contact_points=config.get("cassandra", "hosts"),
        port=config.get("cassandra", "port"),
        auth_provider=auth_provider(config),
        ssl_context=tls_context(config),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # Cassandra 4.1+ and 5.0 speak v5; fixing it avoids a noisy negotiation.
        protocol_version=overrides.pop("protocol_version", 5),
        **overrides,
    )


def auth_provider(config: Config):
    """Username and password (FLEETWATCH_CASSANDRA_PASSWORD), or None without a username."""
    from cassandra.auth import PlainTextAuthProvider

    username = config.get("cassandra", "username")
    if not username:
        return None
    return PlainTextAuthProvider(username, config.secret("cassandra", "password") or "")


def tls_context(config: Config) -> ssl.SSLContext | None:
    """TLS verifying the nodes against cassandra.ssl_ca_file (else the system's
    trust store), presenting cassandra.ssl_cert_file/ssl_key_file when set; None
    without cassandra.ssl."""
    if not config.get("cassandra", "ssl"):
        return None
    ca_file = config.get("cassandra", "ssl_ca_file")
    context = ssl.create_default_context(
        cafile=str(config.path("cassandra", "ssl_ca_file")) if ca_file else None)
    if config.get("cassandra", "ssl_cert_file"):
        key_file = config.get("cassandra", "ssl_key_file")
        context.load_cert_chain(config.path("cassandra", "ssl_cert_file"),
                                config.path("cassandra", "ssl_key_file") if key_file else None)
    return context


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
