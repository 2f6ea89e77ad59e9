"""The [stream] configuration, checked and typed once at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from spark_app.alerts.state_machine import AlertPolicy
from spark_app.common.cassandra_retry import CassandraRetry
from spark_app.common.config import Config, ConfigError, env_name
from spark_app.common.kafka import KafkaSettings
from spark_app.stream.readings import ReadingRules

SOURCES = ("files", "kafka")
_DURATION = re.compile(r"^\s*(\d+)\s*(second|minute|hour|day)s?\s*$")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def duration_seconds(text: str, key: str, allow_zero: bool = False) -> int:
    """'10 minutes' -> 600. One number and one unit: Spark reads the same text."""
    match = _DURATION.match(text)
    if not match or (int(match.group(1)) == 0 and not allow_zero):
        raise ConfigError(f"stream.{key} ({env_name('stream', key)}) must be a duration like "
                          f"'10 minutes' (seconds, minutes, hours, days), got {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class StreamSettings:
    source: str
    source_dir: Path
    checkpoint_dir: Path
    max_files_per_trigger: int
    kafka_bootstrap: str
    kafka_topic: str
    # [kafka]: security protocol, SASL login, CA; checked at start, None for files
    kafka: KafkaSettings | None
    max_offsets_per_trigger: int
    window: str
    slide: str
    watermark: str
    trigger: str
    slide_s: int
    state_partitions: int
    windows_ttl_s: int
    default_threshold_c: float
    thresholds_refresh_s: int
    policy: AlertPolicy
    readings: ReadingRules
    # the driver-side Cassandra work of a micro-batch (alert states, outbox, metrics, writes)
    cassandra_retry: CassandraRetry

    @classmethod
    def from_config(cls, config: Config) -> StreamSettings:
        get = lambda key: config.get("stream", key)  # noqa: E731
        source = get("source")
        if source not in SOURCES:
            raise ConfigError(f"stream.source ({env_name('stream', 'source')}) must be one of "
                              f"{', '.join(SOURCES)}, got {source!r}")
        window_s = duration_seconds(get("window"), "window")
        slide_s = duration_seconds(get("slide"), "slide")
        duration_seconds(get("watermark"), "watermark")
        duration_seconds(get("trigger"), "trigger")
        if slide_s > window_s:
            raise ConfigError(f"stream.slide ({get('slide')}) must not exceed stream.window "
                              f"({get('window')})")
        for key in ("max_files_per_trigger", "max_offsets_per_trigger", "reminder_minutes"):
            if get(key) < 0:
                raise ConfigError(f"stream.{key} ({env_name('stream', key)}) must not be negative")
        for key in ("cassandra_retry_attempts", "cassandra_retry_backoff_s",
                    "cassandra_retry_backoff_max_s"):
            if get(key) <= 0:
                raise ConfigError(f"stream.{key} ({env_name('stream', key)}) must be positive, "
                                  f"got {get(key)!r}")
        if get("hysteresis_c") < 0:
            raise ConfigError(f"stream.hysteresis_c ({env_name('stream', 'hysteresis_c')}) "
                              "must not be negative")
        reminder = timedelta(minutes=get("reminder_minutes")) if get("reminder_minutes") else None
        hold = timedelta(seconds=duration_seconds(get("alert_for"), "alert_for", allow_zero=True))
        return cls(
            source=source,
            source_dir=config.path("stream", "source_dir"),
            checkpoint_dir=config.path("stream", "checkpoint_dir"),
            max_files_per_trigger=get("max_files_per_trigger"),
            kafka_bootstrap=get("kafka_bootstrap"),
            kafka_topic=get("kafka_topic"),
            kafka=config.settings(KafkaSettings) if source == "kafka" else None,
            max_offsets_per_trigger=get("max_offsets_per_trigger"),
            window=get("window"), slide=get("slide"), watermark=get("watermark"),
            trigger=get("trigger"),
            slide_s=slide_s,
            state_partitions=get("state_partitions"),
            windows_ttl_s=get("windows_ttl_s"),
            default_threshold_c=get("default_threshold_c"),
            thresholds_refresh_s=get("thresholds_refresh_s"),
            policy=AlertPolicy(hysteresis_c=get("hysteresis_c"), reminder=reminder, hold=hold),
            readings=ReadingRules(get("min_valid_c"), get("max_valid_c"), get("max_clock_ahead_s")),
            cassandra_retry=CassandraRetry(get("cassandra_retry_attempts"),
                                           get("cassandra_retry_backoff_s"),
                                           get("cassandra_retry_backoff_max_s"),
                                           setting="stream.cassandra_retry_attempts"),
        )


def with_stream_source(config: Config, source: str | None) -> Config:
    """The configuration with `--source kafka` or `--source DIR` folded in, so
    everything built from it (the session's jars too) sees the same source."""
    if not source:
        return config
    stream = dict(config.values["stream"])
    if source == "kafka":
        stream["source"] = "kafka"
    else:
        stream.update(source="files", source_dir=str(Path(source).resolve()))
    return replace(config, values={**config.values, "stream": stream})
