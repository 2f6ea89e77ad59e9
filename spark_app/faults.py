"""The fault record: its tag, its shard, and writing it to Cassandra."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

KIND_CODES = {"event": 1, "diagnostic": 2}


def fault_tag(kind: str, mid: int, cid: int, fmi: int) -> str:
    """`#1.MID.CID.FMI` for an event, `#2.…` for a diagnostic (RULES.md)."""
    return f"#{KIND_CODES[kind]}.{mid}.{cid}.{fmi}"


def shard_of(serial_number: str, shards: int) -> int:
    # CRC32, not hash(): Python salts str hashes per process.
    return zlib.crc32(serial_number.encode("utf-8")) % shards


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
    """Upserts faults into `faults` (same key = same fault) with one prepared statement."""

    def __init__(self, session, keyspace: str, shards: int):
        self.session = session
        self.shards = shards
        self.insert = session.prepare(
            f"INSERT INTO {keyspace}.faults "
            "(day, shard, model, tag, serial_number, ts, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)")

    def parameters(self, fault: Fault) -> tuple:
        return (fault.day, shard_of(fault.serial_number, self.shards), fault.model, fault.tag,
                fault.serial_number, fault.ts, fault.received_at)

    def write(self, faults) -> int:
        from cassandra.concurrent import execute_concurrent_with_args

        parameters = [self.parameters(fault) for fault in faults]
        results = execute_concurrent_with_args(self.session, self.insert, parameters,
                                               concurrency=64, raise_on_first_error=True)
        return len(results)
