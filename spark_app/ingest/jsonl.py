"""Ingesting a JSON-lines file: read in chunks of lines, validate the chunk
(columnar.validate_chunk, the lines it leaves one by one), write the chunk's
faults and rejections, go on. Memory holds one chunk."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

from spark_app.ingest.columnar import FaultColumns, validate_chunk
from spark_app.ingest.records import Invalid, Rejection, bounded_payload, json_line_row
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.tally import Tally
from spark_app.ingest.writer import IngestWriter


def read_lines(handle, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its newline) of every non-blank line. A line
    longer than max_bytes comes back cut to max_bytes + 1 bytes, the rest
    skipped without being held in memory, so the validator refuses it."""
    readline = handle.readline
    limit = max_bytes + 1  # one byte over the maximum shows a line is too long
    number = 0
    while line := readline(limit + 1):  # + 1: room for the newline
        number += 1
        if line.endswith(b"\n"):
            line = line[:-1]
        elif len(line) > limit:  # stopped mid-line
            while (rest := readline(1 << 16)) and not rest.endswith(b"\n"):
                pass
            line = line[:limit]
        if line.strip():
            yield number, line


def ingest_jsonl(path: Path, writer: IngestWriter, settings: IngestSettings,
                 tally: Tally) -> None:
    """Ingest one file; `tally` counts what each written chunk held, once
    Cassandra acknowledged it. A chunk is validated while the one before it
    is being written (by one thread, so chunks are written in order): the
    parsing, in pyarrow, runs while the driver waits for Cassandra."""
    # absolute, so the same file named another way keys its rejects alike; a
    # name that is not UTF-8 shown with U+FFFD, as Cassandra text must be UTF-8
    source = os.fsencode(os.path.abspath(path)).decode("utf-8", "replace")
    rules = settings.rules

    def write(faults: list, columns: FaultColumns, rejections: list[Rejection]) -> None:
        writer.write_faults(faults, columns)
        writer.write_rejections(rejections)

    with open(path, "rb") as handle, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-write") as writing:
        lines = read_lines(handle, rules.max_record_bytes)
        position = 0
        written = None  # the previous chunk's write, and what to count once it is done
        while chunk := list(islice(lines, settings.chunk_rows)):
            now = datetime.now(UTC)  # received_at of lines without one
            validated = validate_chunk([line for _, line in chunk], now, rules)
            faults, rejections = [], []
            for index in validated.per_line:
                number, line = chunk[index]
                try:
                    faults.append(json_line_row(line, now, rules))
                except Invalid as invalid:
                    payload = bounded_payload(line, settings.max_reject_payload_bytes)
                    rejections.append(Rejection(source, number, str(invalid), payload))
            read, position = handle.tell() - position, handle.tell()
            if written:
                _count(tally, *written)
            written = (writing.submit(write, faults, validated.faults, rejections),
                       faults, len(rejections), read, validated.faults.day_counts())
        if written:
            _count(tally, *written)


def _count(tally: Tally, write: Future, faults: list, rejected: int, read: int,
           days: Counter) -> None:
    """Count a chunk once its write is done (raising what made it fail)."""
    write.result()
    tally.add(faults, rejected, read, days)
