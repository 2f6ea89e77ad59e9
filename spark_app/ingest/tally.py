"""What one ingestion source has written so far, and the periodic progress line."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from operator import itemgetter

from schemas.faults import Fault

_day_of = itemgetter(0)


class Tally:
    """Counts of one source (file or feed), updated after each written chunk or page."""

    def __init__(self, source: str, on_change: Callable[[], None] = lambda: None):
        self.source = source
        self.faults = 0
        self.rejected = 0
        self.days: Counter = Counter()  # day bucket -> faults written into it
        self.pages = 0  # feed pages fully written
        self.error: str | None = None
        self._on_change = on_change

    def add(self, faults: list[Fault], rejected: int) -> None:
        self.faults += len(faults)
        self.rejected += rejected
        self.days.update(map(_day_of, faults))
        self._on_change()


class Progress:
    """Prints running totals to stderr at most every `interval_s` seconds:
    on one rewritten line on a terminal, as plain lines otherwise (logs)."""

    def __init__(self, interval_s: float, stream=None):
        self.interval_s = interval_s
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.tallies: list[Tally] = []
        self.started = time.monotonic()
        self._last = self.started

    def tally(self, source: str) -> Tally:
        tally = Tally(source, self.tick)
        self.tallies.append(tally)
        return tally

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last < self.interval_s:
            return
        self._last = now
        faults = sum(t.faults for t in self.tallies)
        rejected = sum(t.rejected for t in self.tallies)
        line = (f"ingest: {faults:,} faults, {rejected:,} rejected, "
                f"{faults / max(now - self.started, 1e-9):,.0f} faults/s "
                f"({self.tallies[-1].source})")
        self.stream.write(f"\r{line}\033[K" if self.terminal else line + "\n")
        self.stream.flush()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def done(self) -> None:
        if self.terminal and self._last != self.started:
            self.stream.write("\n")

