"""The Cassandra migrations written in Python (data copies), by version, beside
the numbered cql/ files. Each is frozen once released, like a .cql file: it
spells out the statements it needs rather than importing the application's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

# How the legacy rejected_messages spelled a record's place in its `source`.
_LEGACY_FEED_RECORD = re.compile(r"(.*)#FaultCode\[(\d+)\]", re.DOTALL)
_LEGACY_FILE_LINE = re.compile(r"(.*):(\d+)", re.DOTALL)
_UUID1_EPOCH = 0x01B21DD213814000  # 1970-01-01 in a version-1 UUID's 100 ns since 1582


def legacy_key(source: str) -> tuple[str, int]:
    """(source, position) of a legacy `source`: "FILE:LINE", "PAGE-URL#FaultCode[N]",
    or a whole page's URL (position 0)."""
    if match := _LEGACY_FEED_RECORD.fullmatch(source):
        return match[1], int(match[2])
    is_feed_url = source.startswith(("http://", "https://"))
    if not is_feed_url and (match := _LEGACY_FILE_LINE.fullmatch(source)):
        return match[1], int(match[2])
    return source, 0


def migrate_rejected_messages(session, keyspace: str) -> int:
    """Copy every `rejected_messages` row into `ingest_rejects` under its new key;
    returns how many rows were read. Each copy is written with the time of its
    timeuuid as its write time, so the copies of one record settle on the latest
    refusal, a reject ingestion has written since (at the current time) is never
    overwritten, and running the copy again changes nothing."""
    from cassandra.concurrent import execute_concurrent_with_args

    select = session.prepare(f"SELECT id, source, reason, payload FROM {keyspace}.rejected_messages")
    insert = session.prepare(
        f"INSERT INTO {keyspace}.ingest_rejects (source, position, reason, payload, rejected_at) "
        "VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?")

    def copies():
        for row in session.execute(select):  # paged by the driver
            source, position = legacy_key(row.source)
            written_us = (row.id.time - _UUID1_EPOCH) // 10
            yield (source, position, row.reason, row.payload,
                   datetime.fromtimestamp(written_us / 1e6, UTC), written_us)

    results = execute_concurrent_with_args(session, insert, copies(), concurrency=32,
                                           raise_on_first_error=True, results_generator=True)
    return sum(1 for _ in results)


# version -> (name, step(session, keyspace)); numbers no cql/ file has.
PYTHON_STEPS = {
    12: ("ingest_rejects_from_rejected_messages", migrate_rejected_messages),
}
