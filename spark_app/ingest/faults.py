"""The fault record: its tag, its shard, and writing it to Cassandra."""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

KIND_CODES = {"event": 1, "diagnostic": 2}

# The days the pipeline can represent: the daily job holds instants as pandas
# datetime64[ns], 1677-09-21 00:12:43 .. 2262-04-11 23:47:16; these are the
# whole days inside it. Ingestion refuses instants outside them, `daily --day`
# such days.
FIRST_DAY = date(1677, 9, 22)
LAST_DAY = date(2262, 4, 10)
EARLIEST_INSTANT = datetime.combine(FIRST_DAY, time(), UTC)
LATEST_INSTANT = datetime.combine(LAST_DAY, time.max, UTC)

# Longest serial number and model, in UTF-8 bytes: real ones are a few dozen
# characters; this keeps the clustering key far below Cassandra's 64 KiB.
MAX_NAME_BYTES = 256
# Largest MID, CID and FMI: a signed 32-bit int, so a code fits any column type.
MAX_CODE = 2**31 - 1


def day_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def representable_days() -> str:
    """The range, for messages."""
    return f"{FIRST_DAY.isoformat()} .. {LAST_DAY.isoformat()}"


def fault_tag(kind: str, mid: int, cid: int, fmi: int) -> str:
    """`#1.MID.CID.FMI` for an event, `#2.…` for a diagnostic (RULES.md)."""
    return f"#{KIND_CODES[kind]}.{mid}.{cid}.{fmi}"


def shard_of(serial_number: str, shards: int) -> int:
    # CRC32, not hash(): Python salts str hashes per process.
    return zlib.crc32(serial_number.encode("utf-8")) % shards


def partition_chunks(rows: list[tuple], key_length: int, size: int) -> list[list[tuple]]:
    """Rows cut into chunks of at most `size` that share their first
    `key_length` values (their partition key)."""
    def key(row: tuple) -> tuple:
        return row[:key_length]

    chunks = []
    for _, same_key in itertools.groupby(sorted(rows, key=key), key=key):
        same_key = list(same_key)
        chunks += [same_key[start:start + size] for start in range(0, len(same_key), size)]
    return chunks


@dataclass(frozen=True)
class Fault:
    serial_number: str
    model: str
    tag: str
    ts: datetime          # aware, UTC
    received_at: datetime  # aware, UTC

    @property
    def day(self) -> date:
        """The day bucket: the UTC date the fault was received."""
        return self.received_at.astimezone(UTC).date()


class FaultWriter:
    """Upserts faults into `faults` (same key = same fault) with one prepared
    statement, sent as unlogged batches of rows that share their partition
    (day, shard): Cassandra applies such a batch as one mutation, so the cost
    of a request is paid once per batch, not once per row (about 8× the rows/s
    of one request per row on the local node). Never batches across
    partitions: those only load the coordinator."""

    PARTITION_KEY = 2  # (day, shard): the first two values of a row

    def __init__(self, session, keyspace: str, shards: int, batch_rows: int = 50):
        self.session = session
        self.shards = shards
        self.batch_rows = batch_rows
        self.insert = session.prepare(
            f"INSERT INTO {keyspace}.faults "
            "(day, shard, model, tag, serial_number, ts, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)")

    def parameters(self, fault: Fault) -> tuple:
        return (fault.day, shard_of(fault.serial_number, self.shards), fault.model, fault.tag,
                fault.serial_number, fault.ts, fault.received_at)

    def batches(self, rows: list[tuple]) -> list:
        """Rows in `insert`'s column order → BatchStatements, each of at most
        `batch_rows` rows of one partition."""
        from cassandra.query import BatchStatement, BatchType

        batches = []
        for chunk in partition_chunks(rows, self.PARTITION_KEY, self.batch_rows):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for row in chunk:
                batch.add(self.insert, row)
            batches.append(batch)
        return batches

    def write(self, faults) -> int:
        from cassandra.concurrent import execute_concurrent

        rows = [self.parameters(fault) for fault in faults]
        execute_concurrent(self.session, [(batch, None) for batch in self.batches(rows)],
                           concurrency=16, raise_on_first_error=True)
        return len(rows)
