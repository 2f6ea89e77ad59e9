"""How fleetwatch connects to Kafka ([kafka]), shared by the stream's source (Spark's
Kafka client, `kafka.*` options) and `simulate temperatures --kafka` (librdkafka).

The brokers and the topic are stream.kafka_bootstrap and stream.kafka_topic. The
SASL password is FLEETWATCH_KAFKA_PASSWORD, read from the environment when a
client is configured and never kept in these settings; a password is refused on
a connection without TLS (SASL_PLAINTEXT), where anyone on the path could read it
(PLAIN) or the whole stream (SCRAM).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from spark_app.common.config import ConfigError, env_name

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT")
SASL_MECHANISMS = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}
PASSWORD_VARIABLE = env_name("kafka", "password")


@dataclass(frozen=True)
class KafkaTopic:
    """Where the readings travel, from [stream]: read by the stream's source, sent by
    the simulator, listened on by the local broker."""
    SECTION: ClassVar[str] = "stream"

    kafka_bootstrap: str
    kafka_topic: str


@dataclass(frozen=True)
class KafkaSettings:
    SECTION: ClassVar[str] = "kafka"

    security_protocol: str
    sasl_mechanism: str
    username: str  # its password: FLEETWATCH_KAFKA_PASSWORD, read where a client is made
    ssl_ca_file: Path | None
    # the local broker of `fleetwatch services start --kafka` only
    controller_port: int

    def __post_init__(self):
        protocol = self.security_protocol
        if protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(f"kafka.security_protocol ({env_name('kafka', 'security_protocol')})"
                              f" must be one of {', '.join(SECURITY_PROTOCOLS)}, got {protocol!r}")
        if protocol == "SASL_PLAINTEXT":
            raise ConfigError(
                "kafka.security_protocol SASL_PLAINTEXT would send the Kafka password "
                f"({PASSWORD_VARIABLE}) and every reading in clear; use SASL_SSL")
        if self.sasl:
            if self.sasl_mechanism not in SASL_MECHANISMS:
                raise ConfigError(
                    f"kafka.sasl_mechanism ({env_name('kafka', 'sasl_mechanism')}) must be one of "
                    f"{', '.join(SASL_MECHANISMS)}, got {self.sasl_mechanism!r}")
            if not self.username:
                raise ConfigError(f"kafka.security_protocol {protocol} needs kafka.username "
                                  f"({env_name('kafka', 'username')}) and {PASSWORD_VARIABLE}")
            _password()  # missing: said now, before any client starts
        elif self.username:
            raise ConfigError(
                f"kafka.username is set but kafka.security_protocol is {protocol}: the login "
                "would not be used; set FLEETWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL")
        if self.ssl_ca_file is not None and not self.tls:
            raise ConfigError(f"kafka.ssl_ca_file is set but kafka.security_protocol is "
                              f"{protocol}; use SSL or SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def spark_source_options(self) -> dict[str, str]:
        """The `kafka.*` options of Spark's Kafka source (its Java client's settings).
        The CA is read as a PEM trust store, so there is no store password to keep."""
        options = {"kafka.security.protocol": self.security_protocol}
        if self.sasl:
            options["kafka.sasl.mechanism"] = self.sasl_mechanism
            options["kafka.sasl.jaas.config"] = (
                f"{SASL_MECHANISMS[self.sasl_mechanism]} required "
                f"username={_jaas_quoted(self.username)} password={_jaas_quoted(_password())};")
        if self.ssl_ca_file is not None:
            options["kafka.ssl.truststore.type"] = "PEM"
            options["kafka.ssl.truststore.location"] = str(self.ssl_ca_file)
        return options

    def producer_config(self, bootstrap: str) -> dict[str, str]:
        """librdkafka's settings for a producer to `bootstrap`, the same connection."""
        config = {"bootstrap.servers": bootstrap, "security.protocol": self.security_protocol}
        if self.sasl:
            config.update({"sasl.mechanism": self.sasl_mechanism,
                           "sasl.username": self.username, "sasl.password": _password()})
        if self.ssl_ca_file is not None:
            config["ssl.ca.location"] = str(self.ssl_ca_file)
        return config


def _password() -> str:
    password = os.environ.get(PASSWORD_VARIABLE)
    if not password:
        raise ConfigError(f"kafka.username is set: its password goes in {PASSWORD_VARIABLE}")
    return password


def _jaas_quoted(value: str) -> str:
    """A JAAS option value: double-quoted, with backslash and quote escaped (Kafka
    parses the configuration with a StreamTokenizer, which reads those escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
