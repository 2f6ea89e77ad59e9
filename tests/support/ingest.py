"""Helpers of the ingestion tests: configuration with quick retries, and
reading back what was written (by partition, as the daily job does)."""

from __future__ import annotations

import os
from datetime import UTC, date, timedelta

import numpy as np

from spark_app.common.config import load_config

QUICK_RETRIES = {"FLEETWATCH_INGEST_RETRY_ATTEMPTS": "3",
                 "FLEETWATCH_INGEST_RETRY_BACKOFF_S": "0.05",
                 "FLEETWATCH_INGEST_RETRY_BACKOFF_MAX_S": "0.2",
                 "FLEETWATCH_INGEST_FEED_TIMEOUT_S": "5"}


def ingest_config(**environ: str):
    return load_config(environ={**os.environ, **QUICK_RETRIES, **environ})


def fault_keys(cassandra, config, days) -> set[tuple]:
    """(day, serial_number, tag, ts in ms) of every fault stored on those days."""
    query = cassandra.prepare(
        "SELECT day, serial_number, tag, ts FROM faults WHERE day = ? AND shard IN ?")
    shards = list(range(config.get("cassandra", "shards")))
    keys = set()
    for day in days:
        for row in cassandra.execute(query, (day, shards)):
            epoch_ms = round(row.ts.replace(tzinfo=UTC).timestamp() * 1000)
            keys.add((row.day.date(), row.serial_number, row.tag, epoch_ms))
    return keys


def expected_keys(faults, good: np.ndarray) -> set[tuple]:
    """The keys the good simulated faults must be stored under."""
    day = (faults.received_ms // 86_400_000).astype("datetime64[D]").astype(object)
    return set(zip(day[good], faults.serial_number[good], faults.tag[good],
                   faults.ts_ms[good].tolist(), strict=True))


def days_of(faults) -> list[date]:
    first = faults.received_ms.min() // 86_400_000
    last = faults.received_ms.max() // 86_400_000
    return [date(1970, 1, 1) + timedelta(days=int(n)) for n in range(first, last + 1)]


def rejections(cassandra, source_prefix: str) -> list[tuple[str, str, str]]:
    """(source, reason, payload) of every reject from sources starting with
    source_prefix. A full read: the test keyspace's table is small."""
    query = cassandra.prepare("SELECT source, reason, payload FROM ingest_rejects")
    return [(row.source, row.reason, row.payload) for row in cassandra.execute(query)
            if row.source.startswith(source_prefix)]


def rejects_of(cassandra, source: str) -> dict[int, tuple[str, str]]:
    """position -> (reason, payload) of the rejects of one file or page."""
    query = cassandra.prepare(
        "SELECT position, reason, payload FROM ingest_rejects WHERE source = ?")
    return {row.position: (row.reason, row.payload) for row in cassandra.execute(query, (source,))}


def cursor_of(cassandra, feed: str) -> str | None:
    row = cassandra.execute(
        cassandra.prepare("SELECT next_url FROM feed_cursor WHERE feed = ?"), (feed,)).one()
    return row.next_url if row else None


def clear_days(cassandra, config, days) -> None:
    """Delete the faults of those received days (left by an earlier run of the test)."""
    delete = cassandra.prepare("DELETE FROM faults WHERE day = ? AND shard IN ?")
    shards = list(range(config.get("cassandra", "shards")))
    for day in days:
        cassandra.execute(delete, (day, shards))
