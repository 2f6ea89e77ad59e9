"""Writing faults (schemas.faults.Fault) to Cassandra as partition batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from itertools import repeat

import numpy as np

from schemas.faults import Fault
from spark_app.ingest.columnar import FaultColumns, as_bytes

# CQL `date`: days since 1970-01-01 as an unsigned 32-bit number, the epoch at 2**31
_DATE_EPOCH = 2**31


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


class FaultWriter:
    """Upserts faults into `faults` (same key = same fault) with one prepared
    statement, sent as unlogged batches of rows that share their partition
    (day, shard): Cassandra applies such a batch as one mutation, so the cost
    of a request is paid once per batch, not once per row (about 8× the rows/s
    of one request per row on the local node). Never batches across
    partitions: those only load the coordinator."""

    PARTITION_KEY = 2  # (day, shard): the first two values of a row

    def __init__(self, session, keyspace: str, batch_rows: int = 50):
        self.session = session
        self.batch_rows = batch_rows
        self.insert = session.prepare(
            f"INSERT INTO {keyspace}.faults "
            "(day, shard, model, tag, serial_number, ts, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)")
        # what a statement bound to `insert` names (for token-aware routing)
        self.keyspace = self.insert.column_metadata[0].keyspace_name

    def batches(self, rows: list[Fault]) -> list:
        """Faults (rows in `insert`'s column order) → BatchStatements, each of at
        most `batch_rows` rows of one partition."""
        from cassandra.query import BatchStatement, BatchType

        batches = []
        for chunk in partition_chunks(rows, self.PARTITION_KEY, self.batch_rows):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            for row in chunk:
                batch.add(self.insert, row)
            batches.append(batch)
        return batches

    def column_batches(self, faults: FaultColumns) -> list:
        """Faults as columns → BatchStatements, each of at most `batch_rows`
        rows of one partition, their values serialised here for the whole
        column at once instead of bound row by row (which costs more than
        sending them). They are what `batches` makes of the same faults, byte
        for byte (tests/integration/test_ingest_columnar.py): the driver is
        pinned, and its batch holds (prepared, query id, serialised values)."""
        from cassandra.query import BatchStatement, BatchType

        order = np.lexsort((faults.shard, faults.day))
        day, shard = faults.day[order], faults.shard[order]
        columns = [
            _big_endian(day + _DATE_EPOCH, ">u4"), _big_endian(shard, ">i4"),
            *(as_bytes(texts.take(order)) for texts in (faults.model, faults.tag,
                                                        faults.serial_number)),
            _big_endian(_driver_milliseconds(faults.ts_us[order]), ">i8"),
            _big_endian(_driver_milliseconds(faults.received_us[order]), ">i8")]
        rows = list(zip(repeat(True), repeat(self.insert.query_id), zip(*columns, strict=True),
                        strict=False))
        starts = _batch_starts(day, shard, self.batch_rows)
        batches = []
        for start, end in zip(starts, [*starts[1:], len(rows)], strict=True):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            batch._statements_and_parameters = rows[start:end]
            batch.routing_key = columns[0][start], columns[1][start]
            batch.keyspace = self.keyspace
            batches.append(batch)
        return batches

    def write(self, faults: Iterable[Fault]) -> int:
        from cassandra.concurrent import execute_concurrent

        rows = list(faults)
        execute_concurrent(self.session, [(batch, None) for batch in self.batches(rows)],
                           concurrency=16, raise_on_first_error=True)
        return len(rows)


def _batch_starts(day: np.ndarray, shard: np.ndarray, size: int) -> list[int]:
    """Where each batch begins in rows sorted by partition (day, shard): at
    each new partition and every `size` rows within one."""
    count = len(day)
    if count == 0:
        return []
    new_partition = np.ones(count, bool)
    new_partition[1:] = (day[1:] != day[:-1]) | (shard[1:] != shard[:-1])
    partition_start = np.maximum.accumulate(np.where(new_partition, np.arange(count), 0))
    return np.flatnonzero((np.arange(count) - partition_start) % size == 0).tolist()


def _driver_milliseconds(microseconds: np.ndarray) -> np.ndarray:
    """The milliseconds the driver sends for a datetime: whole seconds × 1e3
    plus microseconds / 1e3 in floating point, truncated toward zero
    (cassandra.cqltypes.DateType.serialize), so the same instant is the same
    clustering key whichever way it was written."""
    seconds = microseconds // 1_000_000
    return np.trunc(seconds.astype(np.float64) * 1e3 +
                    (microseconds - seconds * 1_000_000).astype(np.float64) / 1e3).astype(np.int64)


def _big_endian(values: np.ndarray, dtype: str) -> list[bytes]:
    """Each value as the bytes of `dtype` (a big-endian numpy type)."""
    width = np.dtype(dtype).itemsize
    return values.astype(dtype).view(f"V{width}").tolist()
