"""A local Cassandra node that demands a login (PasswordAuthenticator) and TLS
with a client certificate, both from a private CA made for the test: the
server's key store and trust store are PKCS12, the clients get the PEM files
(Python driver) or key stores (Spark connector).

The node's own settings file holds its store password, as a Cassandra node's
does; the clients' secrets only ever travel in the environment."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from spark_app.common.config import Config, load_config
from spark_app.services.cassandra import LocalCassandra
from tests.support.second_cassandra import second_node_environ
from tests.support.tls import key_store, private_ca, trust_store

# The superuser a new node creates; the tests log in as it only to create their role.
SUPERUSER = ("cassandra", "cassandra")
STORE_PASSWORD = "store-Pw-7f3a"


class SecureCassandra(LocalCassandra):
    def __init__(self, config: Config, server_key_store: Path, server_trust_store: Path):
        super().__init__(config)
        self.server_key_store = server_key_store
        self.server_trust_store = server_trust_store

    def node_yaml(self) -> Path:
        path = super().node_yaml()
        text, count = re.subn(r"(?m)^authenticator: .*$", "authenticator: PasswordAuthenticator",
                              path.read_text())
        assert count == 1, "conf/cassandra/cassandra.yaml must name its authenticator once"
        path.write_text(text + f"""
client_encryption_options:
  enabled: true
  optional: false
  store_type: PKCS12
  keystore: {self.server_key_store}
  keystore_password: {STORE_PASSWORD}
  require_client_auth: true
  truststore: {self.server_trust_store}
  truststore_password: {STORE_PASSWORD}
""")
        return path

    def command(self) -> list[str]:
        command = super().command()
        # The superuser is created 10 s after start by default: no need to wait here.
        return [command[0], "-Dcassandra.superuser_setup_delay_ms=0", *command[1:]]


@dataclass(frozen=True)
class SecureNode:
    node: SecureCassandra
    environ: dict[str, str]   # FLEETWATCH_* naming the node and the client's TLS files


@contextmanager
def secure_cassandra(tmp_path: Path, suite_config: Config):
    """A started secure node, stopped at the end whatever happened. It is
    started logged in as the superuser; `environ` names no user."""
    ca = private_ca(tmp_path / "tls")
    stores = tmp_path / "stores"
    stores.mkdir()
    environ = {**second_node_environ(tmp_path, suite_config),
               "FLEETWATCH_CASSANDRA_SSL": "true",
               "FLEETWATCH_CASSANDRA_SSL_CA_FILE": str(ca.ca_cert),
               "FLEETWATCH_CASSANDRA_SSL_CERT_FILE": str(ca.client.cert),
               "FLEETWATCH_CASSANDRA_SSL_KEY_FILE": str(ca.client.key),
               "FLEETWATCH_CASSANDRA_SSL_TRUST_STORE": str(stores / "client-trust.p12"),
               "FLEETWATCH_CASSANDRA_SSL_TRUST_STORE_TYPE": "PKCS12",
               "FLEETWATCH_CASSANDRA_SSL_KEY_STORE": str(stores / "client-key.p12"),
               "FLEETWATCH_CASSANDRA_SSL_KEY_STORE_TYPE": "PKCS12"}
    trust_store(ca.ca_cert, stores / "client-trust.p12", STORE_PASSWORD)
    key_store(ca.client, stores / "client-key.p12", STORE_PASSWORD)
    node = SecureCassandra(
        load_config(environ={**environ, "FLEETWATCH_CASSANDRA_USERNAME": SUPERUSER[0]}),
        key_store(ca.server, stores / "server-key.p12", STORE_PASSWORD),
        trust_store(ca.ca_cert, stores / "server-trust.p12", STORE_PASSWORD))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("FLEETWATCH_CASSANDRA_PASSWORD", SUPERUSER[1])
            node.start(echo=lambda *_: None)
        yield SecureNode(node, environ)
    finally:
        node.stop(echo=lambda *_: None)
