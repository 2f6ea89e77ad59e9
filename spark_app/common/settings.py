"""Typed, frozen views of the configuration sections several boxes share:
Cassandra (the driver, the connector and the local node), Spark, SMTP (the
mailer and the loopback sink). Built once per Config (`config.settings(...)`);
the boxes' own sections have their views beside their code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class CassandraSettings:
    SECTION: ClassVar[str] = "cassandra"

    hosts: tuple[str, ...]
    port: int
    keyspace: str
    username: str  # its password: FLEETWATCH_CASSANDRA_PASSWORD, read where it is used
    local_dc: str
    replication: str
    consistency: str  # of every request, driver and connector, reads and writes
    request_timeout_s: float  # the Python driver's wait for one request's answer
    shards: int
    ssl: bool
    allow_plaintext_password: bool
    ssl_ca_file: Path | None
    ssl_cert_file: Path | None
    ssl_key_file: Path | None
    ssl_trust_store: Path | None
    ssl_trust_store_type: str
    ssl_key_store: Path | None
    ssl_key_store_type: str
    ssl_cipher_suites: tuple[str, ...]
    # the local node of the embedded defaults only (fleetwatch services start)
    storage_port: int
    heap: str
    start_timeout_s: int


@dataclass(frozen=True)
class SparkSettings:
    SECTION: ClassVar[str] = "spark"

    master: str
    app_name: str
    event_log_dir: str  # a Hadoop URI (hdfs://, s3a://, file://) or a local path
    ui_enabled: bool
    ui_port: int
    shuffle_partitions: int
    arrow_batch_rows: int
    driver_memory: str

    def event_log_uri(self, home: Path) -> str:
        """spark.eventLog.dir: a URI as given, a local path as a file:// URI (relative
        to the fleetwatch home)."""
        if urlsplit(self.event_log_dir).scheme:
            return self.event_log_dir
        return (home / self.event_log_dir).as_uri()

    def local_event_log_dir(self, home: Path) -> Path | None:
        """The folder of the event logs when it is on this machine (Spark wants it to
        exist), else None."""
        uri = urlsplit(self.event_log_uri(home))
        return Path(unquote(uri.path)) if uri.scheme == "file" else None


@dataclass(frozen=True)
class SmtpSettings:
    SECTION: ClassVar[str] = "smtp"

    host: str
    port: int
    starttls: bool
    ssl: bool
    ca_file: Path | None
    username: str  # its password: FLEETWATCH_SMTP_PASSWORD, read where it is used
    allow_plaintext_password: bool
    sender: str
    recipients: tuple[str, ...]
    timeout_s: float
    sink_dir: Path
