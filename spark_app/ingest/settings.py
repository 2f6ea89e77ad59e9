"""The [ingest] configuration section, checked and typed once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from spark_app.common.config import Config, ConfigError, env_name
from spark_app.common.settings import CassandraSettings
from spark_app.ingest.records import RecordRules
from spark_app.ingest.writer import RetryPolicy


@dataclass(frozen=True)
class IngestSettings:
    keyspace: str
    rules: RecordRules
    retry: RetryPolicy
    concurrency: int
    batch_rows: int
    chunk_rows: int
    feed_timeout_s: float
    feed_page_deadline_s: float
    max_page_bytes: int
    max_reject_payload_bytes: int
    progress_interval_s: float

    @classmethod
    def from_config(cls, config: Config) -> IngestSettings:
        def positive(key: str):
            value = config.get("ingest", key)
            if value <= 0:
                raise ConfigError(f"ingest.{key} ({env_name('ingest', key)}) must be positive, "
                                  f"got {value!r}")
            return value

        cassandra = config.settings(CassandraSettings)
        return cls(
            keyspace=cassandra.keyspace,
            rules=RecordRules(shards=cassandra.shards,
                              max_record_bytes=positive("max_record_bytes"),
                              future_tolerance=timedelta(seconds=positive("future_tolerance_s"))),
            retry=RetryPolicy(attempts=positive("retry_attempts"),
                              backoff_s=positive("retry_backoff_s"),
                              backoff_max_s=positive("retry_backoff_max_s")),
            concurrency=positive("concurrency"),
            batch_rows=positive("batch_rows"),
            chunk_rows=positive("chunk_rows"),
            feed_timeout_s=positive("feed_timeout_s"),
            feed_page_deadline_s=positive("feed_page_deadline_s"),
            max_page_bytes=positive("max_page_bytes"),
            max_reject_payload_bytes=positive("max_reject_payload_bytes"),
            progress_interval_s=positive("progress_interval_s"))
