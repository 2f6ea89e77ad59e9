"""ISO 8601 UTC text <-> epoch milliseconds, the form instants take everywhere in fleetwatch."""
from __future__ import annotations

import datetime as dt
import re

_ISO_UTC = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,3}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})")
_UTC_SUFFIXES = ("Z", "+00:00")
_EPOCH = dt.datetime(1970, 1, 1)


def parse_iso_ms(text: str) -> int:
    """`2016-11-16T13:34:00Z`, `…:00.123Z` or `…:00+00:00` -> epoch ms.

    Raises ValueError for anything else: another offset, no offset (ambiguous),
    more than millisecond precision, an impossible date or time.
    """
    match = _ISO_UTC.fullmatch(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 UTC timestamp like 2016-11-16T13:34:00Z: {text!r}")
    *fields, fraction, offset = match.groups()
    if offset not in _UTC_SUFFIXES:
        raise ValueError(f"timestamp not in UTC (offset {offset}): {text!r}")
    try:
        moment = dt.datetime(*map(int, fields))
    except ValueError as error:
        raise ValueError(f"impossible timestamp {text!r}: {error}") from None
    millis = int((fraction or "0").ljust(3, "0"))
    return (moment - _EPOCH) // dt.timedelta(milliseconds=1) + millis


def format_iso_ms(epoch_ms: int) -> str:
    """Epoch ms -> `2016-11-16T13:34:00.000Z` (years 1 to 9999, else ValueError)."""
    try:
        moment = _EPOCH + dt.timedelta(milliseconds=int(epoch_ms))
    except OverflowError:
        raise ValueError(f"{epoch_ms} ms is outside years 1 to 9999") from None
    # Not strftime: its %Y does not zero-pad years before 1000 on every platform.
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}Z")
