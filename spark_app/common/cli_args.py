"""What every box's command line shares: exit codes and argument types."""

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
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
