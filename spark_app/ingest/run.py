"""`fleetwatch ingest`: JSON-lines files, folders of them and XML feed URLs
into Cassandra `faults` (rejects into `ingest_rejects`), with counts.

Sources are ingested one after the other over one Cassandra session. A
source that fails (Cassandra still unavailable after the retries, a feed
down or sending a malformed page, an unreadable file) is reported and the
next one is still ingested; re-running is safe (upserts, feed cursor).
"""

from __future__ import annotations

import gc
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from spark_app.common.config import Config
from spark_app.ingest.records import is_feed_url
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.tally import INGEST_PARTS, IngestProgress, Tally

_DAYS_SHOWN = 10


def expand_sources(arguments: list[str]) -> list[str]:
    """Feed URLs as given, files as given, folders as their *.jsonl files (sorted).
    A path that does not exist raises FileNotFoundError before anything is written."""
    sources = []
    for argument in arguments:
        if is_feed_url(argument):
            sources.append(argument)
        elif Path(argument).is_dir():
            sources += [str(path) for path in sorted(Path(argument).glob("*.jsonl"))]
        elif Path(argument).is_file():
            sources.append(argument)
        else:
            raise FileNotFoundError(f"no such file, folder or feed URL: {argument}")
    return sources


@dataclass(frozen=True)
class SourceResult:
    source: str
    faults: int
    rejected: int
    pages: int
    error: str | None

    @classmethod
    def of(cls, tally: Tally) -> SourceResult:
        return cls(tally.source, tally.faults, tally.rejected, tally.pages, tally.error)


@dataclass(frozen=True)
class IngestSummary:
    results: tuple[SourceResult, ...]
    days: dict = field(default_factory=dict)  # day bucket -> faults written into it
    seconds: float = 0.0
    part_seconds: dict = field(default_factory=dict)  # tally.INGEST_PARTS -> summed over sources

    @property
    def faults(self) -> int:
        return sum(result.faults for result in self.results)

    @property
    def rejected(self) -> int:
        return sum(result.rejected for result in self.results)

    @property
    def failed(self) -> list[SourceResult]:
        return [result for result in self.results if result.error]

    @property
    def exit_code(self) -> int:
        """1 when a source could not be ingested completely (retrying is safe), else 0."""
        return 1 if self.failed else 0

    def text(self) -> str:
        lines = [f"ingested {self.faults:,} faults and {self.rejected:,} rejected messages "
                 f"from {len(self.results)} source(s) in {self.seconds:.1f}s "
                 f"({self.faults / max(self.seconds, 1e-9):,.0f} faults/s)"]
        for result in self.results:
            pages = f"{result.pages} page(s), " if is_feed_url(result.source) else ""
            status = f" — FAILED: {result.error}" if result.error else ""
            lines.append(f"  {result.source}: {pages}{result.faults:,} faults, "
                         f"{result.rejected:,} rejected{status}")
        days = sorted(self.days.items())
        shown = ", ".join(f"{day} ({count:,})" for day, count in days[:_DAYS_SHOWN])
        more = f", … {len(days) - _DAYS_SHOWN} more, last {days[-1][0]}" \
            if len(days) > _DAYS_SHOWN else ""
        lines.append(f"days touched: {len(days)}" + (f": {shown}{more}" if days else ""))
        if self.failed:
            lines.append(f"{len(self.failed)} source(s) failed; running the same command "
                         "again is safe (faults are upserts, feeds resume at their cursor)")
        return "\n".join(lines)


def ingest(config: Config, arguments: list[str], progress_stream=None) -> IngestSummary:
    """Ingest every source named in `arguments`; never raises for a failed source."""
    settings = IngestSettings.from_config(config)
    sources = expand_sources(arguments)
    total_bytes = sum(Path(source).stat().st_size for source in sources
                      if not is_feed_url(source))
    with IngestProgress(settings.progress_interval_s, total_bytes, progress_stream) as progress, \
            _collections_of_new_objects_only():
        tallies = [progress.tally(source) for source in sources]
        _ingest_each(config, settings, tallies)
    return _summary(tallies, progress)


@contextmanager
def _collections_of_new_objects_only():
    """Ingest allocates millions of short-lived tuples, so the cyclic garbage
    collector runs often; each full collection would scan every object of the
    process again (modules, whatever the caller holds). Frozen, the objects
    that exist before the run are left out (gc.freeze), and back after it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _ingest_each(config: Config, settings: IngestSettings, tallies: list[Tally]) -> None:
    from cassandra import InvalidRequest

    from spark_app.common.cassandra_session import connection_failure
    from spark_app.ingest.feed_pull import FeedCursor, FeedError, pull_feed
    from spark_app.ingest.jsonl import ingest_jsonl
    from spark_app.ingest.writer import (
        CassandraRefused,
        CassandraUnavailable,
        IngestWriter,
        RowWriter,
        connect,
        transient_errors,
    )

    try:
        session = connect(config, settings.retry)
    except CassandraRefused as error:
        _fail_all(tallies, str(error))
        return
    except transient_errors() as error:
        _fail_all(tallies, connection_failure(error) or f"Cassandra is not reachable: {error}")
        return
    try:
        try:
            rows = RowWriter(session, settings.retry, settings.concurrency)
            writer = IngestWriter(session, settings.keyspace, settings.rules.shards, rows,
                                  settings.batch_rows)
            cursor = FeedCursor(session, settings.keyspace, rows)
        except InvalidRequest as error:  # no such keyspace or table (statements name both)
            _fail_all(tallies, connection_failure(error) or str(error))
            return
        for tally in tallies:
            try:
                if is_feed_url(tally.source):
                    pull_feed(tally.source, writer, cursor, settings, tally)
                else:
                    ingest_jsonl(Path(tally.source), writer, settings, tally)
            except (CassandraUnavailable, FeedError, OSError) as error:
                tally.error = str(error)
    finally:
        session.cluster.shutdown()


def _fail_all(tallies: list[Tally], error: str) -> None:
    for tally in tallies:
        tally.error = error


def _summary(tallies: list[Tally], progress: IngestProgress) -> IngestSummary:
    days: Counter = Counter()
    for tally in tallies:
        days.update(tally.days)
    return IngestSummary(tuple(SourceResult.of(tally) for tally in tallies), dict(days),
                         progress.elapsed(),
                         {part: sum(tally.seconds[part] for tally in tallies)
                          for part in INGEST_PARTS})
