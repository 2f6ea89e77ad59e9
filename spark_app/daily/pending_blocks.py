"""Pending faults packed in blocks: one Cassandra row holds up to a few
thousand faults as a compressed Arrow IPC stream.

Writing the day's rule-relevant faults row by row would cost Cassandra more
than reading the day did (a mutation per fault); a block is one cell, so the
next generation costs about its compressed size. Blocks are opaque to CQL:
`PendingGenerations.faults()` decodes them for people and tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.arrow import PENDING_BLOCK

_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression="zstd")


def encode(faults: pd.DataFrame) -> bytes:
    """serial_number, model, tag, ts (epoch ms, int64) → one block's bytes."""
    table = pa.table({
        "serial_number": pa.array(faults["serial_number"].to_numpy(object), pa.string()),
        "model": pa.array(faults["model"].to_numpy(object), pa.string()),
        "tag": pa.array(faults["tag"].to_numpy(object), pa.string()),
        "ts": pa.array(faults["ts"].to_numpy(np.int64) * 1000, pa.timestamp("us", tz="UTC")),
    }, schema=PENDING_BLOCK)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, PENDING_BLOCK, options=_WRITE_OPTIONS) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def decode(payload: bytes) -> pa.Table:
    return pa.ipc.open_stream(payload).read_all()


class BlockPacker:
    """Collects one shard's faults and cuts them into blocks of at most `block_rows`.

    A block lives in the Cassandra partition (as_of, shard) of its faults'
    serials, so the task evaluating a shard reads its pending faults alone.
    Block ids are `shard × 1,000,000 + n`: a retried task rewrites the same keys.
    """

    def __init__(self, shard: int, block_rows: int):
        self.shard = shard
        self.next_block = shard * 1_000_000
        self.block_rows = block_rows
        self.pending: list[pd.DataFrame] = []
        self.rows = 0

    def add(self, faults: pd.DataFrame) -> Iterator[tuple[int, int, int, bytes]]:
        if not faults.empty:
            self.pending.append(faults)
            self.rows += len(faults)
        if self.rows >= self.block_rows:
            yield from self._cut(final=False)

    def flush(self) -> Iterator[tuple[int, int, int, bytes]]:
        yield from self._cut(final=True)

    def _cut(self, final: bool) -> Iterator[tuple[int, int, int, bytes]]:
        if not self.pending:
            return
        faults = pd.concat(self.pending, ignore_index=True)
        whole = len(faults) if final else len(faults) - len(faults) % self.block_rows
        for start in range(0, whole, self.block_rows):
            block = faults.iloc[start:start + self.block_rows]
            yield self.shard, self.next_block, len(block), encode(block)
            self.next_block += 1
        rest = faults.iloc[whole:]
        self.pending, self.rows = ([rest], len(rest)) if len(rest) else ([], 0)
