"""What every box's command line shares: exit codes and argument types.

Every option taking a day, an instant or a number is parsed here, so a bad
value is refused with the same words by every command (exit 2, with usage)."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def iso_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def iso_instant(text: str) -> datetime:
    """An ISO 8601 instant; without an offset it is UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an instant (ISO 8601, e.g. 2016-11-17T00:30:00Z): {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def whole_number(text: str) -> int:
    """0, 1, 2, …"""
    return _bounded(text, int, 0, None, "not a whole number (0, 1, 2, …)")


def positive_whole_number(text: str) -> int:
    """1, 2, 3, …"""
    return _bounded(text, int, 1, None, "not a whole number above 0 (1, 2, 3, …)")


def seed(text: str) -> int:
    """Any integer, negative ones too."""
    return _bounded(text, int, None, None, "not an integer")


def positive_number(text: str) -> float:
    return _bounded(text, float, 0.0, None, "not a number above 0", exclusive=True)


def non_negative_number(text: str) -> float:
    return _bounded(text, float, 0.0, None, "not a number of 0 or more")


def fraction(text: str) -> float:
    return _bounded(text, float, 0.0, 1.0, "not a fraction (a number from 0 to 1)")


def tcp_port(text: str) -> int:
    return _bounded(text, int, 1, 65535, "not a TCP port (1 to 65535)")


def _bounded(text: str, kind, low, high, what: str, exclusive: bool = False):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what}: {text!r}") from None
    too_low = low is not None and (value <= low if exclusive else value < low)
    if too_low or (high is not None and value > high) or value != value:  # NaN
        raise argparse.ArgumentTypeError(f"{what}: {text!r}")
    return value
