"""cassandra-driver sessions built from configuration, and the CQL schema's migrations."""

from __future__ import annotations

import re
import ssl
from contextlib import contextmanager
from dataclasses import dataclass, field

from spark_app.common.config import PROJECT_HOME, Config
from spark_app.common.schema_migrations import (
    CqlUpgrade,
    Migration,
    folder_migrations,
    upgrade_keyspace,
)
from spark_app.common.settings import CassandraSettings

CQL_DIR = PROJECT_HOME / "cql"


def cluster_from_config(config: Config, password: str | None = None, **overrides):
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    cassandra = config.settings(CassandraSettings)
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(
            DCAwareRoundRobinPolicy(local_dc=cassandra.local_dc or None)),
        consistency_level=ConsistencyLevel.name_to_value[cassandra.consistency],
        request_timeout=overrides.pop("request_timeout", cassandra.request_timeout_s))
    return Cluster(
        contact_points=list(cassandra.hosts),
        port=cassandra.port,
        auth_provider=auth_provider(config, password),
        ssl_context=tls_context(config),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # Cassandra 4.1+ and 5.0 speak v5; fixing it avoids a noisy negotiation.
        protocol_version=overrides.pop("protocol_version", 5),
        **overrides,
    )


def auth_provider(config: Config, password: str | None = None):
    """Username and password (`password`, else FLEETWATCH_CASSANDRA_PASSWORD), or
    None without a username."""
    from cassandra.auth import PlainTextAuthProvider

    username = config.settings(CassandraSettings).username
    if not username:
        return None
    return PlainTextAuthProvider(username, password or config.secret("cassandra", "password") or "")


def tls_context(config: Config) -> ssl.SSLContext | None:
    """TLS verifying the nodes against cassandra.ssl_ca_file (else the system's
    trust store), presenting cassandra.ssl_cert_file/ssl_key_file when set; None
    without cassandra.ssl."""
    cassandra = config.settings(CassandraSettings)
    if not cassandra.ssl:
        return None
    context = ssl.create_default_context(
        cafile=str(cassandra.ssl_ca_file) if cassandra.ssl_ca_file else None)
    if cassandra.ssl_cert_file:
        context.load_cert_chain(cassandra.ssl_cert_file, cassandra.ssl_key_file)
    return context


@contextmanager
def cassandra_session(config: Config, keyspace: str | None = None):
    """A connected session (to the configured keyspace unless told otherwise)."""
    cluster = cluster_from_config(config)
    try:
        yield cluster.connect(keyspace)
    finally:
        cluster.shutdown()


@dataclass(frozen=True)
class TaskCassandra:
    """What a Spark task needs to open its own cassandra-driver session: the
    configuration and the password, resolved on the driver (an executor's
    environment need not hold it). It travels in the task's closure, as the
    connector's own credentials travel in the Spark configuration."""
    config: Config
    password: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, config: Config) -> TaskCassandra:
        return cls(config, config.secret("cassandra", "password"))

    def session(self):
        """This Python worker's session to the configured keyspace, connected
        once: Spark reuses its workers across tasks."""
        cassandra = self.config.settings(CassandraSettings)
        key = (tuple(cassandra.hosts), cassandra.port, cassandra.keyspace, cassandra.username)
        session = _TASK_SESSIONS.get(key)
        if session is None or session.is_shutdown:
            cluster = cluster_from_config(self.config, self.password)
            session = _TASK_SESSIONS[key] = cluster.connect(cassandra.keyspace)
        return session


_TASK_SESSIONS: dict[tuple, object] = {}


def cql_migrations(config: Config) -> list[Migration]:
    """The schema's migrations, with keyspace and replication filled in."""
    from spark_app.common.migration_steps import PYTHON_STEPS

    cassandra = config.settings(CassandraSettings)
    return folder_migrations(CQL_DIR, cassandra.keyspace, cassandra.replication, PYTHON_STEPS)


def apply_schema(config: Config, session) -> CqlUpgrade:
    """Create or upgrade the keyspace and its tables to the latest schema version."""
    return upgrade_keyspace(session, config.settings(CassandraSettings).keyspace,
                            cql_migrations(config))


_KEYSPACE_IN_MESSAGE = re.compile(r"[Kk]eyspace '?(\w+)'? does not exist|using keyspace '(\w+)'")


def connection_failure(error: BaseException) -> str | None:
    """What went wrong connecting to or asking Cassandra, and what to do about it,
    in one line; None for anything else. Tells a node that is not running from
    one refusing the login, one speaking no TLS (or not trusted) and a keyspace
    that does not exist: the driver reports each of them as NoHostAvailable."""
    diagnosis = _diagnose(error)
    return diagnosis[1] if diagnosis else None


def retrying_may_help(error: BaseException) -> bool:
    """False for a refused login, a failed TLS handshake, a missing keyspace:
    the same request will fail the same way however often it is sent."""
    diagnosis = _diagnose(error)
    return diagnosis is None or diagnosis[0]


# The Java driver's names (the Spark connector's failures reach Python as text) of
# the same transient failures, and of the refusals that no retry cures.
_JVM_TRANSIENT = ("DriverTimeoutException", "AllNodesFailedException", "NoNodeAvailableException",
                  "WriteTimeoutException", "ReadTimeoutException", "UnavailableException",
                  "OverloadedException", "BusyConnectionException", "ClosedConnectionException",
                  "HeartbeatException", "ConnectionInitException", "ClosedChannelException",
                  "Control channel not available", "Failed to open native connection to Cassandra")
_JVM_REFUSED = ("AuthenticationException", "UnauthorizedException", "InvalidQueryException",
                "SSLHandshakeException", "does not exist")


def transient_write_errors() -> tuple[type[BaseException], ...]:
    """The Python driver's errors after which the same write may well succeed a
    little later (NoHostAvailable among them, whatever its cause)."""
    from cassandra import OperationTimedOut, Unavailable, WriteTimeout
    from cassandra.cluster import NoHostAvailable
    from cassandra.connection import ConnectionException
    from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage

    return (NoHostAvailable, OperationTimedOut, WriteTimeout, Unavailable, ConnectionException,
            OverloadedErrorMessage, IsBootstrappingErrorMessage)


def transient_failure(error: BaseException) -> bool:
    """True when the same request may well succeed a little later: a client or
    replica timeout, an unavailable or overloaded replica, a node that is down or
    not answering (a GC pause, a restart). False for anything else, a refused
    login or a missing keyspace or table among them."""
    from cassandra import ReadTimeout
    from cassandra.cluster import NoHostAvailable

    if isinstance(error, NoHostAvailable):
        return retrying_may_help(error)
    if isinstance(error, (*transient_write_errors(), ReadTimeout)):
        return True
    if _raised_in_jvm(error):
        text = str(error)
        return (any(name in text for name in _JVM_TRANSIENT)
                and not any(name in text for name in _JVM_REFUSED))
    return False


def _raised_in_jvm(error: BaseException) -> bool:
    """A Spark job's failure as pyspark or py4j hands it to Python."""
    return any(kind.__module__.startswith(("py4j.", "pyspark.")) for kind in type(error).__mro__)


def _diagnose(error: BaseException) -> tuple[bool, str] | None:
    """(retrying may help, the message), or None when `error` is no Cassandra failure."""
    from cassandra import AuthenticationFailed, InvalidRequest
    from cassandra.cluster import NoHostAvailable

    if not isinstance(error, InvalidRequest | NoHostAvailable):
        return None
    # connect(keyspace) to a missing one says so in the message, and lists only the hosts
    keyspace = _KEYSPACE_IN_MESSAGE.search(str(error))
    if keyspace:
        return False, (f"Cassandra has no keyspace {keyspace.group(1) or keyspace.group(2)} "
                       "(cassandra.keyspace): `fleetwatch db init` creates it")
    if isinstance(error, InvalidRequest):
        if "does not exist" in str(error) or "unconfigured table" in str(error):
            return False, f"{error}; `fleetwatch db init` creates the schema"
        return None
    hosts = error.errors if isinstance(error.errors, dict) else dict.fromkeys(error.errors or ())
    causes = [cause for cause in hosts.values() if cause is not None]
    where = ", ".join(hosts) or "the configured hosts"
    if any(isinstance(cause, AuthenticationFailed) for cause in causes):
        return False, (f"Cassandra at {where} refused the login ({_first_line(causes)}): check "
                       "cassandra.username (FLEETWATCH_CASSANDRA_USERNAME) and "
                       "FLEETWATCH_CASSANDRA_PASSWORD")
    if any("SSL" in str(cause) or isinstance(cause, ssl.SSLError) for cause in causes):
        return False, (f"TLS with Cassandra at {where} failed ({_first_line(causes)}): check "
                       "cassandra.ssl (the node must have client encryption on), "
                       "cassandra.ssl_ca_file (the CA that signed the node's certificate) and "
                       "the client certificate")
    return True, (f"Cassandra is not reachable at {where} ({_first_line(causes) or error}); "
                  "is it running? `fleetwatch services start` starts the local one")


def _first_line(causes: list) -> str:
    return str(causes[0]).splitlines()[0] if causes else ""
