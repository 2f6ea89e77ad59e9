"""JSON lines validated a chunk at a time, as columns: pyarrow parses the
chunk against the record's fields and vectorised checks accept the ordinary
lines; every other line is left to records.json_line_row, one at a time,
which accepts it or gives the reason stored. So a reject's reason is the same
whichever way its line went, and the columnar checks only have to be sure of
what they accept, never explain a refusal (records.py says what is valid).

Where pyarrow and Python's json module could read a line differently, the
line goes the per-line way without being given to pyarrow: bytes outside
printable ASCII (encodings, control characters in strings), backslashes
(escapes, lone surrogates), lines over FAST_LINE_BYTES (see there). A chunk
pyarrow refuses as a whole (one line of bad JSON, a quoted number, a
duplicated key…) or reads into another number of rows (two objects on a
line) is split and its parts parsed again, down to PER_LINE_BELOW lines,
which go the per-line way.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zlib import crc32

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from schemas.faults import EARLIEST_INSTANT, LATEST_INSTANT, MAX_CODE, MAX_NAME_BYTES
from spark_app.ingest.records import RecordRules

# Python's json module refuses integers of more than 4,300 digits and nesting
# deeper than the recursion limit (~1,000), pyarrow neither: a line shorter
# than this can hold neither. Real fault lines are ~200 bytes.
FAST_LINE_BYTES = 1024
PER_LINE_BELOW = 16  # a refused part this small goes line by line
_SPLIT = 16  # a refused part is parsed again as this many parts

_CODES = ("mid", "cid", "fmi")
_SCHEMA = pa.schema([("serial_number", pa.string()), ("model", pa.string()),
                     ("kind", pa.string()), *((code, pa.int64()) for code in _CODES),
                     ("ts", pa.string()), ("received_at", pa.string())])
_PARSE = pa_json.ParseOptions(explicit_schema=_SCHEMA, unexpected_field_behavior="ignore",
                              newlines_in_values=False)
_READ = pa_json.ReadOptions(use_threads=False, block_size=1 << 26)
# The ISO 8601 forms taken here, a subset of what datetime.fromisoformat
# accepts; _date_times checks the date and time themselves.
_ISO = (r"^(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,6}))?"
        r"(?P<zone>Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$")
# what a plain line is made of, and the newlines between lines
_PLAIN_BYTES = bytes(range(0x20, 0x7F)).replace(b"\\", b"") + b"\n"
_US = 1_000_000
_DAY_US = 86_400 * _US
_EPOCH = EARLIEST_INSTANT.replace(year=1970, month=1, day=1)
_EPOCH_DAY = _EPOCH.date()
_EARLIEST_US = (EARLIEST_INSTANT - _EPOCH) // _EPOCH.resolution
_LATEST_US = (LATEST_INSTANT - _EPOCH) // _EPOCH.resolution


@dataclass(frozen=True)
class FaultColumns:
    """Valid faults as columns of the `faults` row: `day` in days since
    1970-01-01 (UTC), `ts_us`/`received_us` in microseconds since the epoch,
    the texts as pyarrow binary arrays (UTF-8)."""
    day: np.ndarray            # int64
    shard: np.ndarray          # int64
    model: pa.Array
    tag: pa.Array
    serial_number: pa.Array
    ts_us: np.ndarray          # int64
    received_us: np.ndarray    # int64

    def __len__(self) -> int:
        return len(self.day)

    def day_counts(self) -> Counter:
        """Day bucket → faults in it."""
        days, counts = np.unique(self.day, return_counts=True)
        return Counter({_EPOCH_DAY + timedelta(days=int(day)): int(count)
                        for day, count in zip(days, counts, strict=True)})


@dataclass(frozen=True)
class ValidatedChunk:
    faults: FaultColumns
    per_line: list[int]  # indices of the lines left to records.json_line_row, in order


def epoch_microseconds(instant: datetime) -> int:
    return (instant - _EPOCH) // _EPOCH.resolution


def validate_chunk(lines: list[bytes], now: datetime, rules: RecordRules) -> ValidatedChunk:
    """The faults of the lines (without their newlines) the columnar checks
    accept, and the indices of the others. `now`: when the chunk was read,
    received_at of the lines without one."""
    now_us = epoch_microseconds(now)
    joined = b"\n".join(lines)
    plain = _plain_lines(lines, joined)
    parsed, per_line = [], np.flatnonzero(~plain).tolist()
    candidates = np.flatnonzero(plain)
    # the usual chunk, all plain, is parsed from the bytes already joined
    _parse(lines, candidates, parsed, per_line, joined if len(candidates) == len(lines) else None)
    if parsed:
        table = pa.concat_tables(table for _, table in parsed)
        indices = np.concatenate([part for part, _ in parsed])
    else:
        table, indices = _SCHEMA.empty_table(), np.zeros(0, np.int64)
    accepted, columns = _accept(table, now_us, rules)
    per_line = np.sort(np.concatenate([np.asarray(per_line, np.int64), indices[~accepted]]))
    return ValidatedChunk(columns, per_line.tolist())


def _plain_lines(lines: list[bytes], joined: bytes) -> np.ndarray:
    """Which lines (`joined`: them joined by newlines) are of printable ASCII
    without a backslash, at most FAST_LINE_BYTES long (a CR before the newline
    allowed)."""
    if not lines:
        return np.zeros(0, bool)
    lengths = np.fromiter(map(len, lines), np.int64, len(lines))
    plain = lengths <= FAST_LINE_BYTES
    # Usually nothing is odd: bytes.translate, deleting the plain bytes, shows
    # it at a fraction of the cost of finding which lines the odd bytes are in.
    odd_bytes = joined.translate(None, _PLAIN_BYTES)
    if not odd_bytes or (not odd_bytes.strip(b"\r") and  # or only CRs, each before a newline
                         len(odd_bytes) == (joined + b"\n").count(b"\r\n")):
        return plain
    data = np.frombuffer(joined, np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]])
    following = np.append(data[1:], np.uint8(10))
    odd = (data >= 0x7F) | (data == ord("\\")) | (
        (data < 0x20) & (data != 10) & ~((data == 13) & (following == 10)))
    plain[np.searchsorted(starts, np.flatnonzero(odd), "right") - 1] = False
    return plain


def _parse(lines: list[bytes], part: np.ndarray, parsed: list, per_line: list,
           joined: bytes | None = None) -> None:
    """Parse the lines at indices `part` (`joined`: them joined by newlines, if
    at hand) as one JSON-lines block; a block pyarrow refuses is split into
    parts parsed again, down to PER_LINE_BELOW lines left to the per-line
    validator."""
    if len(part) == 0:
        return
    if joined is None:
        joined = b"\n".join([lines[i] for i in part])
    try:
        table = pa_json.read_json(io.BytesIO(joined), read_options=_READ, parse_options=_PARSE)
    except pa.ArrowInvalid:
        table = None
    if table is not None and table.num_rows == len(part):
        parsed.append((part, table))
    elif len(part) < PER_LINE_BELOW:
        per_line += part.tolist()
    else:
        for piece in np.array_split(part, _SPLIT):
            _parse(lines, piece, parsed, per_line)


def _accept(table: pa.Table, now_us: int, rules: RecordRules) -> tuple[np.ndarray, FaultColumns]:
    """Which rows are valid faults for sure, and the columns of those."""
    table = table.combine_chunks()
    column = table.column
    ok = _names_ok(column("serial_number")) & _names_ok(column("model"))
    kind = column("kind")
    ok &= _mask(pc.is_in(kind, value_set=pa.array(["event", "diagnostic"])))
    for code in _CODES:
        ok &= _mask(pc.and_(pc.greater_equal(column(code), 0),
                            pc.less_equal(column(code), MAX_CODE)))
    ts_us, ts_ok = _instants(column("ts"))
    received = column("received_at")
    received_us, received_ok = _instants(received)
    given = _mask(pc.is_valid(received))
    received_us = np.where(given, received_us, now_us)
    tolerance_us = rules.future_tolerance // _EPOCH.resolution
    ok &= ts_ok & (received_ok | ~given)
    ok &= (received_us <= now_us + tolerance_us) & (ts_us - received_us <= tolerance_us)

    kept = pa.array(ok)
    table = table.filter(kept)
    ts_us, received_us = ts_us[ok], received_us[ok]
    serial = _binary(table.column("serial_number"))
    tags = pc.binary_join_element_wise(
        pc.if_else(pc.equal(table.column("kind"), "event"), "#1", "#2"),
        *(pc.cast(table.column(code), pa.string()) for code in _CODES), ".")
    shards = np.fromiter(map(crc32, as_bytes(serial)), np.int64, len(serial)) % rules.shards
    return ok, FaultColumns(received_us // _DAY_US, shards, _binary(table.column("model")),
                            _binary(tags), serial, ts_us, received_us)


def _names_ok(names) -> np.ndarray:
    """serial_number, model: present, not only spaces (the lines are ASCII, so
    no other whitespace), within MAX_NAME_BYTES."""
    length = pc.binary_length(names)
    return _mask(pc.and_(pc.greater(length, 0), pc.less_equal(length, MAX_NAME_BYTES))) & \
        ~_mask(pc.ascii_is_space(names))


def _instants(texts) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch (UTC) of ISO 8601 texts, and which of them
    are surely what datetime.fromisoformat reads, inside the representable days.
    The regex only says which texts have the form: the numbers are read from
    the texts' bytes in numpy, their places known from the form and length."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    matched = _mask(pc.match_substring_regex(texts, _ISO))
    count = len(texts)
    if not matched.any():
        return np.zeros(count, np.int64), matched
    texts = pc.cast(texts, pa.binary())
    offsets = np.frombuffer(texts.buffers()[1], np.int32, count + 1, texts.offset * 4)
    data = np.frombuffer(texts.buffers()[2], np.uint8)
    # the others read as the first matched text, so that every row below converts
    first = np.argmax(matched)
    starts = np.where(matched, offsets[:-1], offsets[first])
    ends = np.where(matched, offsets[1:], offsets[first + 1])
    digits = data[starts[:, None] + np.arange(19)].astype(np.int64) - ord("0")
    seconds, real = _date_times(digits)
    # the zone: Z, or ±HH:MM as the last six bytes
    utc = data[ends - 1] == ord("Z")
    zone = data[ends[:, None] - 6 + np.arange(6)].astype(np.int64) - ord("0")
    sign = np.where(data[ends - 6] == ord("-"), -1, 1)
    offset_s = np.where(utc, 0, sign * ((zone[:, 1] * 10 + zone[:, 2]) * 3600 +
                                        (zone[:, 4] * 10 + zone[:, 5]) * 60))
    # the fraction: the 0 to 6 digits after the dot that follows the seconds
    fraction_digits = np.maximum(ends - np.where(utc, 1, 6) - starts - 20, 0)
    fraction_us = np.zeros(count, np.int64)
    for place in range(6):
        digit = data[np.minimum(starts + 20 + place, len(data) - 1)].astype(np.int64) - ord("0")
        fraction_us += np.where(place < fraction_digits, digit * 10 ** (5 - place), 0)
    instants = (seconds - offset_s) * _US + fraction_us
    ok = matched & real & (instants >= _EARLIEST_US) & (instants <= _LATEST_US)
    return instants, ok


def _date_times(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since the epoch of YYYY-MM-DDTHH:MM:SS texts, given as their
    (n, 19) digit values (digits where digits are: the regex saw to it), and
    which are a real date and time."""

    def number(start: int, width: int) -> np.ndarray:
        return sum(digits[:, start + i] * 10 ** (width - 1 - i) for i in range(width))

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute, second = number(11, 2), number(14, 2), number(17, 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = _MONTH_DAYS[np.clip(month, 1, 12)] + ((month == 2) & leap)
    real = ((month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days) &
            (hour <= 23) & (minute <= 59) & (second <= 59))
    # days from the civil date (H. Hinnant's algorithm; years here are >= 0)
    march_year = year - (month <= 2)
    era, year_of_era = march_year // 400, march_year % 400
    day_of_year = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468
    return days * 86_400 + hour * 3600 + minute * 60 + second, real


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _mask(values) -> np.ndarray:
    """A boolean array as numpy, null as False."""
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False)


def _binary(texts) -> pa.Array:
    return pc.cast(texts, pa.binary())


def as_bytes(binary: pa.Array) -> list[bytes]:
    """The values of a binary array as Python bytes (faster than to_pylist)."""
    return binary.to_numpy(zero_copy_only=False).tolist()
