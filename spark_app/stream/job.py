"""The live temperature watch: two Structured Streaming queries over the same
readings, and the alerting on the driver.

- `temperature_windows`: parse -> valid readings -> watermark -> sliding
  windows per equipment, output mode update (a window is emitted every
  micro-batch that changes it, so a breach is seen within one trigger instead
  of after the window closes plus the watermark). foreachBatch upserts the
  windows into Cassandra and runs the alerting over the batch's decisive
  windows (spark_app.stream.windows.decisive, filtered in Spark).
- `rejected_readings`: parse -> rejected lines -> Cassandra, with the reason.

Both checkpoint under stream.checkpoint_dir; alert state and the outbox live
in Cassandra, so a restart resumes without forgetting or repeating e-mails.
A Cassandra that stalls for a while fails no batch: each step of a batch's
driver-side work (writes, alert states, outbox, metrics) is retried in place
(stream.cassandra_retry_*); only once those retries run out, or on a failure no
retry cures, does the query stop, and the run says why (StreamStopped).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_app.alerts.breaches import BreachStore
from spark_app.alerts.outbox import CassandraOutbox, DeliveryReport
from spark_app.alerts.processor import AlertProcessor, BatchAlerts
from spark_app.alerts.smtp import SmtpMailer
from spark_app.alerts.store import AlertStateStore
from spark_app.alerts.thresholds import ThresholdSource
from spark_app.common.cassandra_retry import CassandraStillFailing, describe_failure
from spark_app.common.cassandra_session import connection_failure
from spark_app.common.config import Config
from spark_app.common.settings import SmtpSettings
from spark_app.people.audience import FleetAudience
from spark_app.people.settings import NotifySettings
from spark_app.stream.metrics import OBSERVED, ProgressRecorder, StreamMetricsStore
from spark_app.stream.readings import parse_readings, rejected_lines, valid_readings
from spark_app.stream.rejected_readings import write_rejected
from spark_app.stream.settings import StreamSettings
from spark_app.stream.sources import read_lines
from spark_app.stream.windows import (
    collect_window_stats,
    decisive,
    windowed_averages,
    write_windows,
)

WINDOWS_QUERY = "temperature_windows"
REJECTS_QUERY = "rejected_readings"
LISTENER_FLUSH_MS = 30_000
# The stages of a windows batch (StreamReport.stage_s)
STAGE_WINDOWS = "read, parse, aggregate and store windows"
STAGE_COLLECT = "windows to the driver"
STAGE_ALERTS = "alerting and e-mail"

log = logging.getLogger("fleetwatch.stream")


class StreamStopped(RuntimeError):
    """A query failed; the message says which, in which batch, and why."""


@dataclass
class StreamReport:
    """What one run did, for the command line and the tests."""
    windows_evaluated: int = 0
    stale_windows: int = 0
    notices: Counter = field(default_factory=Counter)
    emails_sent: int = 0
    emails_pending: int = 0
    last_delivery_error: str | None = None
    metrics: dict[str, dict[str, int]] = field(default_factory=dict)
    metrics_errors: int = 0
    # Seconds spent in each stage of the windows batches, summed: where a batch's time goes.
    stage_s: Counter = field(default_factory=Counter)

    def add_alerts(self, alerts: BatchAlerts) -> None:
        self.windows_evaluated += alerts.windows - alerts.stale_windows
        self.stale_windows += alerts.stale_windows
        self.notices.update(notice.kind.value for notice in alerts.notices)
        self.add_delivery(alerts.delivery)

    def add_delivery(self, delivery: DeliveryReport) -> None:
        self.emails_sent += delivery.sent
        self.emails_pending = delivery.still_pending
        if delivery.error:
            self.last_delivery_error = delivery.error


class TemperatureStream:
    def __init__(self, spark: SparkSession, config: Config, settings: StreamSettings,
                 session, engine):
        """`session`: cassandra-driver session on the keyspace; `engine`: relational DB."""
        self.spark = spark
        self.config = config
        self.settings = settings
        self.report = StreamReport()
        self._lock = threading.Lock()  # the two queries' batches run on separate threads
        self._failure: str | None = None  # why a batch failed, for StreamStopped
        retry = settings.cassandra_retry
        smtp = config.settings(SmtpSettings)
        audience = FleetAudience(engine, smtp.recipients,
                                 config.settings(NotifySettings).temperature_severity,
                                 settings.thresholds_refresh_s)
        self.alerts = AlertProcessor(
            AlertStateStore(session, retry), CassandraOutbox(session, retry=retry),
            ThresholdSource(engine, settings.default_threshold_c, settings.thresholds_refresh_s),
            settings.policy, SmtpMailer.from_config(config), smtp.sender, audience,
            BreachStore(engine))
        self.recorder = ProgressRecorder(StreamMetricsStore(session, retry), self._metrics_failed)

    # ---- the queries ---------------------------------------------------------
    def start(self, available_now: bool) -> list:
        settings = self.settings
        trigger = {"availableNow": True} if available_now else {"processingTime": settings.trigger}
        checkpoints = settings.checkpoint_dir
        parsed = parse_readings(read_lines(self.spark, settings), settings.readings)
        counted = parsed.observe(
            OBSERVED, F.count(F.lit(1)).alias("lines"),
            F.count(F.when(F.col("reject_reason").isNull(), 1)).alias("valid"),
            F.count("reject_reason").alias("rejected"))
        windows = windowed_averages(valid_readings(counted), settings.window, settings.slide,
                                    settings.watermark)
        with _session_conf(self.spark, {
                "spark.sql.shuffle.partitions": str(settings.state_partitions),
                # One stateful operator: judge lateness by this batch's watermark, not
                # the previous batch's (Spark's default for chained operators), or a
                # late reading would still update an evicted window for one batch.
                "spark.sql.streaming.statefulOperator.allowMultiple": "false",
                # Update mode emits nothing from a batch without data; old windows are
                # evicted by the next batch that has some, so skip the empty ones.
                "spark.sql.streaming.noDataMicroBatches.enabled": "false"}):
            windows_query = (windows.writeStream.queryName(WINDOWS_QUERY)
                             .outputMode("update")
                             .option("checkpointLocation", str(checkpoints / "windows"))
                             .foreachBatch(self._on_windows).trigger(**trigger).start())
            rejects_query = (rejected_lines(parsed).writeStream.queryName(REJECTS_QUERY)
                             .outputMode("append")
                             .option("checkpointLocation", str(checkpoints / "rejects"))
                             .foreachBatch(self._on_rejects).trigger(**trigger).start())
        for query in (windows_query, rejects_query):
            self.recorder.watch(query.id)
        return [windows_query, rejects_query]

    def _on_windows(self, batch: DataFrame, batch_id: int) -> None:
        with self._failures_told(WINDOWS_QUERY, batch_id):
            self._process_windows(batch, batch_id)

    def _process_windows(self, batch: DataFrame, batch_id: int) -> None:
        self.spark.sparkContext.setJobDescription(f"{WINDOWS_QUERY} batch {batch_id}")
        began = time.monotonic()
        batch.persist()  # written, then read again: the stateful plan must run once
        try:
            # an upsert by (equipment, window): writing again after a failure is safe
            self.settings.cassandra_retry.call(
                "storing the windows",
                lambda: write_windows(batch, self.config, self.settings.windows_ttl_s))
            stored = time.monotonic()
            windows = collect_window_stats(decisive(batch, self.settings.slide_s))
        finally:
            batch.unpersist()
        collected = time.monotonic()
        alerts = self.alerts.process(windows)
        with self._lock:
            self.report.add_alerts(alerts)
            self.report.stage_s.update({
                STAGE_WINDOWS: stored - began, STAGE_COLLECT: collected - stored,
                STAGE_ALERTS: time.monotonic() - collected})

    def _on_rejects(self, batch: DataFrame, batch_id: int) -> None:
        with self._failures_told(REJECTS_QUERY, batch_id):
            self._process_rejects(batch, batch_id)

    def _process_rejects(self, batch: DataFrame, batch_id: int) -> None:
        self.spark.sparkContext.setJobDescription(f"{REJECTS_QUERY} batch {batch_id}")
        batch.persist()  # most batches reject nothing: one look, and the lines are read once
        try:
            if not batch.isEmpty():
                # keyed rows: writing again after a failure rewrites the same ones
                self.settings.cassandra_retry.call(
                    "storing the rejected readings", lambda: write_rejected(batch, self.config))
        finally:
            batch.unpersist()

    @contextmanager
    def _failures_told(self, query_name: str, batch_id: int):
        """Keeps why a batch failed: Spark hands the run only the query's failure,
        a Python traceback wrapped in Java's."""
        try:
            yield
        except Exception as error:
            reason = (str(error) if isinstance(error, CassandraStillFailing)
                      else connection_failure(error) or describe_failure(error))
            with self._lock:
                self._failure = self._failure or (
                    f"the {query_name} query stopped in batch {batch_id}: {reason}; "
                    "started again, the stream resumes from its checkpoint with that batch")
            raise

    def _metrics_failed(self, error: Exception) -> None:
        log.error("could not record a batch's metrics: %s", error)
        with self._lock:
            self.report.metrics_errors += 1

    # ---- running -------------------------------------------------------------
    def run(self, available_now: bool, stop: threading.Event | None = None) -> StreamReport:
        """Runs until the available data is processed (available_now), or until
        `stop` is set or the process is interrupted; always stops the queries."""
        self.report.add_delivery(self.alerts.deliver())  # what an earlier run left
        self.spark.streams.addListener(self.recorder)
        queries = []
        try:
            queries = self.start(available_now)
            if available_now:
                _await_all(queries, stop)
            else:
                _await_any(queries, stop)
        except Exception as error:
            if self._failure is None:
                raise
            raise StreamStopped(self._failure) from error
        finally:
            for query in queries:
                _stop_between_batches(query)
            self._flush_listener()
            self.spark.streams.removeListener(self.recorder)
        self.report.add_delivery(self.alerts.deliver())  # what the last batch could not send
        self.report.metrics = self.recorder.totals
        return self.report

    def _flush_listener(self) -> None:
        # Progress events reach the listener asynchronously: wait for the last ones.
        try:
            self.spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty(LISTENER_FLUSH_MS)
        except Exception as error:  # noqa: BLE001 - must not hide why the run ended
            log.warning("the last batches' metrics may be missing: %s", error)


def _await_all(queries: list, stop: threading.Event | None) -> None:
    """Returns when every query has ended (raising a failure) or `stop` is set."""
    running = list(queries)
    while running and (stop is None or not stop.is_set()):
        running = [query for query in running if not query.awaitTermination(0.5)]


def _await_any(queries: list, stop: threading.Event | None) -> None:
    """Returns when a query ends (raising its failure) or `stop` is set."""
    while stop is None or not stop.is_set():
        for query in queries:
            if query.awaitTermination(0.5):
                return


def _stop_between_batches(query, patience_s: float = 30.0) -> None:
    """Stops the query, after its running micro-batch if any (a batch cut short
    is harmless: the checkpoint replays it, but it spills errors into the log)."""
    deadline = time.monotonic() + patience_s
    while query.isActive and query.status["isTriggerActive"] and time.monotonic() < deadline:
        time.sleep(0.2)
    query.stop()


@contextmanager
def _session_conf(spark: SparkSession, settings: dict[str, str]):
    """Settings a query captures when it starts, without leaving them on the session."""
    previous = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)
