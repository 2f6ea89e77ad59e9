"""The fault record, once: one row of Cassandra `faults` (the column order of
schemas.spark.FAULTS), its tag, its shard, and the instants and sizes the
pipeline can hold. Plain Python; everything that makes or reads a fault uses it."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, time
from typing import NamedTuple

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


def format_tag(kind_code: int, mid: int, cid: int, fmi: int) -> str:
    """The one tag format (RULES.md): `#KIND.MID.CID.FMI`, KIND 1 for an event, 2 a diagnostic."""
    return f"#{kind_code}.{mid}.{cid}.{fmi}"


def fault_tag(kind: str, mid: int, cid: int, fmi: int) -> str:
    """The tag of a fault of kind 'event' or 'diagnostic'."""
    return format_tag(KIND_CODES[kind], mid, cid, fmi)


def shard_of(serial_number: str, shards: int) -> int:
    # CRC32, not hash(): Python salts str hashes per process.
    return zlib.crc32(serial_number.encode("utf-8")) % shards


class Fault(NamedTuple):
    """One row of `faults`, in its column order: a tuple, because ingestion
    builds millions. `day` is the UTC date it was received, `shard` its
    serial's shard; `Fault.of` derives both."""

    day: date
    shard: int
    model: str
    tag: str
    serial_number: str
    ts: datetime           # aware, UTC
    received_at: datetime  # aware, UTC

    @classmethod
    def of(cls, serial_number: str, model: str, tag: str, ts: datetime, received_at: datetime,
           shards: int) -> Fault:
        return cls(received_at.astimezone(UTC).date(), shard_of(serial_number, shards), model,
                   tag, serial_number, ts, received_at)
