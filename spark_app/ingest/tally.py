"""What one ingestion source has written so far, and the progress of them all."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from operator import itemgetter

from schemas.faults import Fault
from spark_app.common.progress import Progress

log = logging.getLogger(__name__)

_day_of = itemgetter(0)
# Wall seconds of a file's ingestion by part: the main thread reading and
# validating chunks, the writer threads building their batches, and the main
# thread waiting for Cassandra to acknowledge the chunks in flight.
INGEST_PARTS = ("validate", "serialise", "wait")


class Tally:
    """Counts of one source (file or feed), updated after each written chunk or page."""

    def __init__(self, source: str,
                 on_change: Callable[[Tally, int], None] = lambda tally, bytes_read: None):
        self.source = source
        self.faults = 0
        self.rejected = 0
        self.days: Counter = Counter()  # day bucket -> faults written into it
        self.pages = 0  # feed pages fully written
        self.error: str | None = None
        self.seconds = dict.fromkeys(INGEST_PARTS, 0.0)
        self._on_change = on_change

    def add(self, faults: list[Fault], rejected: int, bytes_read: int = 0,
            more_days: Counter | None = None) -> None:
        """`bytes_read`: of the file, since the previous add; `more_days`: day
        bucket → count of faults written besides `faults` (as columns)."""
        self.days.update(map(_day_of, faults))
        self.faults += len(faults)
        if more_days:
            self.days.update(more_days)
            self.faults += sum(more_days.values())
        self.rejected += rejected
        self._on_change(self, bytes_read)


class IngestProgress:
    """Running totals of every source, on the shared progress display: bytes of
    the files read (a bar with ETA on a terminal, a line every `interval_s`
    seconds in a log) or, with feeds only, pages (no total: a feed says where
    it ends only on its last page), followed by the faults and rejects written."""

    def __init__(self, interval_s: float, total_bytes: int, stream=None):
        self.display = Progress("ingest", total_bytes or None,
                                unit="B" if total_bytes else "page", logger=log,
                                interval_s=interval_s, stream=stream)
        self.tallies: list[Tally] = []
        self.started = time.monotonic()

    def __enter__(self) -> IngestProgress:
        self.display.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self.display.__exit__(*exc_info)

    def tally(self, source: str) -> Tally:
        tally = Tally(source, self.tick)
        self.tallies.append(tally)
        return tally

    def tick(self, tally: Tally, bytes_read: int) -> None:
        """After each chunk or page of `tally`'s source written (and acknowledged)."""
        faults = sum(t.faults for t in self.tallies)
        rejected = sum(t.rejected for t in self.tallies)
        self.display.note(f"{faults:,} faults, {rejected:,} rejected ({tally.source})")
        if self.display.unit == "page":
            self.display.update(sum(t.pages for t in self.tallies) - self.display.count)
        else:
            self.display.update(bytes_read)

    def elapsed(self) -> float:
        return time.monotonic() - self.started
