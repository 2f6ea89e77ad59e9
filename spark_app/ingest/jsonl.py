"""Ingesting a JSON-lines file: read in chunks of lines, validate the chunk
(columnar.validate_chunk, the lines it leaves one by one), write the chunk's
faults and rejections, go on. Memory holds a few chunks, never the file."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import accumulate, compress
from pathlib import Path

from spark_app.ingest.columnar import FaultColumns, validate_chunk
from spark_app.ingest.records import Invalid, Rejection, bounded_payload, json_line_row
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.tally import Tally
from spark_app.ingest.writer import IngestWriter

_BLOCK_BYTES = 1 << 20
# Chunks written at once, each with its part of ingest.concurrency in flight:
# one starts while the other's last answers arrive, so Cassandra never waits
# for a chunk boundary.
_WRITERS = 2


def read_chunks(handle, max_bytes: int, rows: int, block_bytes: int = _BLOCK_BYTES
                ) -> Iterator[tuple[list[int], list[bytes], int]]:
    """(line numbers, lines without their newline, bytes of the file up to the
    end of the last line) of the non-blank lines, `rows` at a time, read a
    block at a time. A line longer than max_bytes comes back cut to
    max_bytes + 1 bytes, the rest skipped without being held in memory, so
    the validator refuses it."""
    limit = max_bytes + 1  # one byte over the maximum shows a line is too long
    numbers: list[int] = []
    lines: list[bytes] = []
    number = 0  # of the last complete line
    offset = 0  # of the block in the file
    partial = b""  # the start of a line the next block goes on with
    skipping = False  # through the rest of a line already cut
    while block := handle.read(block_bytes):
        parts = block.split(b"\n")
        ends = list(accumulate(map(len, parts)))  # in the block, of each part
        first = number + 1  # the number of the line parts[0] ends
        if skipping:  # the first part is the rest of the cut line, dropped
            skipping = len(parts) == 1
            parts[0] = partial
        else:
            parts[0] = partial + parts[0]
        partial = parts.pop()
        if len(partial) > limit:
            partial, skipping = partial[:limit], True
        if parts and max(map(len, parts)) > limit:
            parts = [line[:limit] for line in parts]
        # map and compress: no Python code per line
        nonblank = list(map(bytes.strip, parts))
        numbers += compress(range(first, first + len(parts)), nonblank)
        lines += compress(parts, nonblank)
        number += len(parts)
        while len(lines) >= rows:
            last = numbers[rows - 1] - first  # its part, ended by a newline
            yield numbers[:rows], lines[:rows], offset + ends[last] + last + 1
            del numbers[:rows], lines[:rows]
        offset += len(block)
    if partial.strip():  # a last line without newline counts
        numbers.append(number + 1)
        lines.append(partial)
    if lines:
        yield numbers, lines, offset


def read_lines(handle, max_bytes: int) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of every non-blank line, as read_chunks reads them."""
    for numbers, lines, _ in read_chunks(handle, max_bytes, _BLOCK_BYTES):
        yield from zip(numbers, lines, strict=True)


def ingest_jsonl(path: Path, writer: IngestWriter, settings: IngestSettings,
                 tally: Tally) -> None:
    """Ingest one file; `tally` counts what each written chunk held, in the
    file's order, once Cassandra acknowledged it and the chunks before it. A
    chunk is validated while the ones before it are being written (by
    _WRITERS threads): the parsing, in pyarrow, runs while the driver waits
    for Cassandra. Memory holds _WRITERS + 1 chunks."""
    # absolute, so the same file named another way keys its rejects alike; a
    # name that is not UTF-8 shown with U+FFFD, as Cassandra text must be UTF-8
    source = os.fsencode(os.path.abspath(path)).decode("utf-8", "replace")
    rules = settings.rules

    def write(faults: list, columns: FaultColumns, rejections: list[Rejection]) -> float:
        serialised = writer.write_faults(faults, columns, share=_WRITERS)
        writer.write_rejections(rejections)
        return serialised

    def written(done) -> None:
        waited = time.perf_counter()
        tally.seconds["serialise"] += done.result()  # raises what made it fail
        tally.seconds["wait"] += time.perf_counter() - waited

    with open(path, "rb") as handle, \
            ThreadPoolExecutor(max_workers=_WRITERS, thread_name_prefix="ingest-write") as writing:
        position = 0
        writes = deque()  # of the chunks being written: (future, what to count once done)
        chunks = read_chunks(handle, rules.max_record_bytes, settings.chunk_rows)
        try:
            while True:
                began = time.perf_counter()
                if (chunk := next(chunks, None)) is None:
                    break
                numbers, lines, end = chunk
                now = datetime.now(UTC)  # received_at of lines without one
                validated = validate_chunk(lines, now, rules)
                faults, rejections = [], []
                for index in validated.per_line:
                    number, line = numbers[index], lines[index]
                    try:
                        faults.append(json_line_row(line, now, rules))
                    except Invalid as invalid:
                        payload = bounded_payload(line, settings.max_reject_payload_bytes)
                        rejections.append(Rejection(source, number, str(invalid), payload))
                read, position = end - position, end
                day_counts = validated.faults.day_counts()
                tally.seconds["validate"] += time.perf_counter() - began
                if len(writes) == _WRITERS:
                    done, counts = writes.popleft()
                    written(done)
                    tally.add(*counts)
                writes.append((writing.submit(write, faults, validated.faults, rejections),
                               (faults, len(rejections), read, day_counts)))
        finally:  # every chunk acknowledged is counted, even after one that failed
            failure = None
            for done, counts in writes:
                try:
                    written(done)
                except BaseException as error:  # noqa: BLE001 - the first is raised below
                    failure = failure or error
                else:
                    tally.add(*counts)
        if failure:
            raise failure
