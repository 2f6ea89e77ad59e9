"""Fault records as they arrive, validated into the row written to `faults`,
or refused with the reason stored in `ingest_rejects`. Pure Python, no I/O.

A JSON line holds one fault:

    {"serial_number": "JAP00100", "model": "JAP", "kind": "event",
     "mid": 123, "cid": 456, "fmi": 789,
     "ts": "2016-11-16T13:34:00Z", "received_at": "2016-11-18T20:30:00Z"}

- `kind` is "event" (tag #1.MID.CID.FMI) or "diagnostic" (#2.…).
- `serial_number` and `model` are non-empty text of at most
  faults.MAX_NAME_BYTES bytes of UTF-8 (a lone surrogate is refused).
- `mid`, `cid`, `fmi` are JSON integers from 0 to faults.MAX_CODE; the string
  "12" is refused, so a producer that quotes numbers is noticed instead of
  silently accepted.
- `ts` and `received_at` are ISO 8601 with a time zone (`Z` or `±HH:MM`); a
  timestamp without one is refused: guessing UTC would file a local-time
  producer's faults under the wrong day without anyone noticing. Instants
  outside faults.FIRST_DAY .. LAST_DAY are refused: the daily job cannot
  represent them.
- `received_at` is optional (default: when the line is read) and picks the
  day bucket (its UTC date).
- A fault stamped more than `ingest.future_tolerance_s` after it was
  received is refused (a machine clock gone wrong), and so is a
  `received_at` that far after the moment of ingestion.
- Other keys are ignored, so producers can add fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schemas.faults import (
    EARLIEST_INSTANT,
    KIND_CODES,
    LATEST_INSTANT,
    MAX_CODE,
    MAX_NAME_BYTES,
    Fault,
    format_tag,
    representable_days,
    shard_of,
)

_SHOWN_CHARS = 80  # how much of a bad value a reason quotes
_MAX_CODE_DIGITS = len(str(MAX_CODE))


class Invalid(ValueError):
    """A record that cannot be ingested; the message is the reason stored."""


@dataclass(frozen=True)
class RecordRules:
    shards: int
    max_record_bytes: int
    future_tolerance: timedelta


@dataclass(frozen=True)
class Rejection:
    """A row of `ingest_rejects`: what was refused, where it was, and why.
    `position` is the line number in a file, the record's index in a feed page,
    0 for a whole page; with `source` it is the key, so refusing the same record
    again rewrites its row instead of adding one."""
    source: str
    position: int
    reason: str
    payload: str


def is_feed_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def parse_timestamp(value, field: str) -> datetime:
    """An aware UTC datetime from ISO 8601 text that names its time zone."""
    if type(value) is not str:
        raise Invalid(f"{field} must be an ISO 8601 string, got {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field} is not an ISO 8601 timestamp: {_show(value)}") from None
    if parsed.tzinfo is not UTC:  # "…Z", the common case, needs no conversion
        if parsed.utcoffset() is None:
            raise Invalid(f"{field} has no time zone (add Z or ±HH:MM): {_show(value)}")
        try:
            parsed = parsed.astimezone(UTC)
        except OverflowError:  # an offset that moves it past year 1 or 9999
            raise _unrepresentable(value, field) from None
    if not EARLIEST_INSTANT <= parsed <= LATEST_INSTANT:
        raise _unrepresentable(value, field)
    return parsed


def _unrepresentable(value: str, field: str) -> Invalid:
    return Invalid(f"{field} {_show(value)} is outside the days the pipeline can represent "
                   f"({representable_days()}, UTC)")


def fault_row(serial_number, model, kind, mid: int, cid: int, fmi: int, ts: datetime,
              received_at: datetime, latest_received: datetime, rules: RecordRules) -> Fault:
    """The `faults` row of one fault whose codes and times are already typed."""
    _check_name(serial_number, "serial_number")
    _check_name(model, "model")
    code = KIND_CODES.get(kind) if type(kind) is str else None
    if code is None:
        raise Invalid(f"kind must be 'event' or 'diagnostic', got {_show(kind)}")
    if received_at > latest_received:
        raise Invalid(f"received_at {received_at.isoformat()} is in the future")
    if ts - received_at > rules.future_tolerance:
        raise Invalid(f"ts {ts.isoformat()} is later than received_at {received_at.isoformat()} "
                      f"plus ingest.future_tolerance_s "
                      f"({rules.future_tolerance.total_seconds():.0f} s)")
    return Fault(received_at.date(), shard_of(serial_number, rules.shards), model,
                 format_tag(code, mid, cid, fmi), serial_number, ts, received_at)


def json_line_row(line: bytes, now: datetime, rules: RecordRules) -> Fault:
    """Validate one JSON line (without its newline); `now` is when it was read."""
    if len(line) > rules.max_record_bytes:
        raise Invalid(f"line longer than ingest.max_record_bytes ({rules.max_record_bytes} bytes)")
    try:
        record = json.loads(line)
    except UnicodeDecodeError:
        raise Invalid("line is not UTF-8") from None
    except ValueError as error:
        raise Invalid(f"not valid JSON: {error}") from None
    except RecursionError:  # a few thousand '[' fit in a line
        raise Invalid("not valid JSON: nested too deeply") from None
    if type(record) is not dict:
        raise Invalid(f"a line must hold a JSON object, got {type(record).__name__}")
    get = record.get
    received = get("received_at")
    received_at = now if received is None else parse_timestamp(received, "received_at")
    return fault_row(get("serial_number"), get("model"), get("kind"),
                     _json_code(get("mid"), "mid"), _json_code(get("cid"), "cid"),
                     _json_code(get("fmi"), "fmi"), parse_timestamp(get("ts"), "ts"),
                     received_at, now + rules.future_tolerance, rules)


def _check_name(value, field: str) -> None:
    """serial_number and model: text Cassandra can store in a key."""
    if type(value) is not str or not value.strip():
        raise Invalid(f"{field} is missing or empty")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise Invalid(f"{field} is not valid Unicode (a lone surrogate): {_show(value)}") from None
    if size > MAX_NAME_BYTES:
        raise Invalid(f"{field} is longer than {MAX_NAME_BYTES} bytes of UTF-8 "
                      f"({size:,} bytes): {_show(value)}")


def text_code(value: str | None, field: str) -> int:
    """MID/CID/FMI given as text (XML): decimal digits only."""
    if value is None:
        raise Invalid(f"{field} is missing")
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        raise Invalid(f"{field} must be a non-negative integer, got {_show(value)}")
    # counted before int(): Python refuses to convert more than 4,300 digits
    if len(value.lstrip("0")) > _MAX_CODE_DIGITS:
        raise _too_large(value, field)
    return _in_range(int(value), field)


def _in_range(code: int, field: str) -> int:
    if code > MAX_CODE:
        raise _too_large(code, field)
    return code


def _too_large(value, field: str) -> Invalid:
    return Invalid(f"{field} must be at most {MAX_CODE}, got {_show(value)}")


def _json_code(value, field: str) -> int:
    if type(value) is int and value >= 0:
        return _in_range(value, field)
    if value is None:
        raise Invalid(f"{field} is missing")
    if type(value) is str:
        raise Invalid(f"{field} must be a JSON integer, not a string: {_show(value)}")
    raise Invalid(f"{field} must be a non-negative integer, got {_show(value)}")


def _show(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= _SHOWN_CHARS else shown[:_SHOWN_CHARS] + "…"


def bounded_payload(raw: bytes | str, limit_bytes: int) -> str:
    """The raw message as text for `ingest_rejects`, cut to `limit_bytes`."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    if len(raw) <= limit_bytes:
        return raw.decode("utf-8", "replace")
    return raw[:limit_bytes].decode("utf-8", "ignore") + f"…[{len(raw) - limit_bytes} more bytes]"
