"""Each micro-batch's progress recorded in Cassandra (table stream_metrics):
rows read, readings accepted and rejected (the parser's observed metrics),
rows the watermark dropped as too late, the watermark, the duration.

Late readings are counted from Spark's own progress (numRowsDroppedByWatermark
of the state operator), which counts after partial aggregation: a late reading
shows up as one dropped row per window it would have updated and partition.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

from pyspark.sql.streaming.listener import StreamingQueryListener

from spark_app.common.cassandra_retry import CassandraRetry

OBSERVED = "readings"  # the name of the parser's observed metrics


@dataclass(frozen=True)
class BatchMetrics:
    query_name: str
    day: date
    batch_ts: datetime
    run_id: str
    batch_id: int
    input_rows: int
    readings_valid: int | None
    readings_rejected: int | None
    rows_dropped_by_watermark: int
    watermark: datetime | None
    duration_ms: int | None


def batch_metrics(progress: dict) -> BatchMetrics:
    """The row for one StreamingQueryProgress (as its JSON document)."""
    batch_ts = _instant(progress["timestamp"])
    observed = (progress.get("observedMetrics") or {}).get(OBSERVED) or {}
    watermark = (progress.get("eventTime") or {}).get("watermark")
    return BatchMetrics(
        query_name=progress.get("name") or progress["id"],
        day=batch_ts.date(),
        batch_ts=batch_ts,
        run_id=progress["runId"],
        batch_id=progress["batchId"],
        input_rows=progress.get("numInputRows", 0),
        readings_valid=observed.get("valid"),
        readings_rejected=observed.get("rejected"),
        rows_dropped_by_watermark=sum(operator.get("numRowsDroppedByWatermark", 0)
                                      for operator in progress.get("stateOperators", [])),
        watermark=_instant(watermark) if watermark else None,
        duration_ms=(progress.get("durationMs") or {}).get("triggerExecution"),
    )


def _instant(text: str) -> datetime:
    # Spark writes "2024-05-01T10:00:00.000Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


_COLUMNS = [f.name for f in fields(BatchMetrics)]


class StreamMetricsStore:
    def __init__(self, session, retry: CassandraRetry):
        self._session = session
        self._retry = retry
        self._insert = session.prepare(
            f"INSERT INTO stream_metrics ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})")

    def record(self, metrics: BatchMetrics) -> None:
        row = tuple(getattr(metrics, c) for c in _COLUMNS)
        self._retry.call("recording a batch's metrics",
                         lambda: self._session.execute(self._insert, row))


class ProgressRecorder(StreamingQueryListener):
    """Records the progress of the queries it is told about; keeps run totals."""

    def __init__(self, store: StreamMetricsStore, on_error: Callable[[Exception], None]):
        self._store = store
        self._on_error = on_error
        self._query_ids: set[str] = set()
        self._lock = threading.Lock()
        self.totals: dict[str, dict[str, int]] = {}

    def watch(self, query_id: str) -> None:
        self._query_ids.add(query_id)

    def onQueryStarted(self, event) -> None:  # noqa: N802 - Spark's listener API
        pass

    def onQueryProgress(self, event) -> None:  # noqa: N802
        progress = json.loads(event.progress.json)
        if progress["id"] not in self._query_ids:
            return
        try:
            metrics = batch_metrics(progress)
            self._store.record(metrics)
        except Exception as error:  # noqa: BLE001 - reported, never lost in Spark's thread
            self._on_error(error)
            return
        with self._lock:
            totals = self.totals.setdefault(metrics.query_name, {})
            for key in ("input_rows", "readings_valid", "readings_rejected",
                        "rows_dropped_by_watermark", "duration_ms"):
                totals[key] = totals.get(key, 0) + (getattr(metrics, key) or 0)
            totals["batches"] = totals.get("batches", 0) + 1

    def onQueryIdle(self, event) -> None:  # noqa: N802
        pass

    def onQueryTerminated(self, event) -> None:  # noqa: N802
        pass
