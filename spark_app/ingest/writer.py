"""Writing ingested rows to Cassandra: prepared statements, many in flight,
retried with backoff while Cassandra is briefly unavailable.

Every write here is idempotent (faults, rejects and cursors are upserts by
key), so retrying a write whose answer was lost never doubles a row.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from schemas.faults import Fault
from spark_app.common.config import Config
from spark_app.ingest.columnar import FaultColumns
from spark_app.ingest.faults import FaultWriter
from spark_app.ingest.records import Rejection
from spark_app.ingest.rejects import INSERT_REJECT, reject_rows

log = logging.getLogger("fleetwatch.ingest")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    backoff_s: float
    backoff_max_s: float

    def retrying(self, retry_on, what: str) -> Retrying:
        def before_sleep(state) -> None:
            log.warning("%s failed (attempt %d of %d: %s); retrying in %.1fs", what,
                        state.attempt_number, self.attempts, state.outcome.exception(),
                        state.next_action.sleep)

        return Retrying(stop=stop_after_attempt(self.attempts),
                        wait=wait_exponential(multiplier=self.backoff_s, max=self.backoff_max_s),
                        retry=retry_if_exception_type(retry_on), before_sleep=before_sleep,
                        reraise=True)


class CassandraUnavailable(RuntimeError):
    """Writes still failed after every retry."""


class CassandraRefused(RuntimeError):
    """Cassandra answers but refuses us (login, TLS): the message says what to check."""


class _WritesFailed(Exception):
    """Some writes of one round failed with transient errors."""


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors after which the same write may well succeed a little later."""
    from spark_app.common.cassandra_session import transient_write_errors

    return transient_write_errors()


def connect(config: Config, retry: RetryPolicy):
    """A session, waiting (with retries) for Cassandra. Statements name their
    keyspace, so a missing one shows up as InvalidRequest when preparing."""
    from cassandra.cluster import NoHostAvailable
    from cassandra.policies import ConstantReconnectionPolicy

    from spark_app.common.cassandra_session import (
        cluster_from_config,
        connection_failure,
        retrying_may_help,
    )

    for attempt in retry.retrying(NoHostAvailable, "connecting to Cassandra"):
        with attempt:
            # Reconnect every second while a node is down (the driver's default
            # backs off to minutes, longer than a restart takes).
            cluster = cluster_from_config(
                config, reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None))
            try:
                return cluster.connect()
            except NoHostAvailable as error:
                cluster.shutdown()
                if not retrying_may_help(error):  # a refused login, TLS: not worth retrying
                    raise CassandraRefused(connection_failure(error)) from error
                raise
            except BaseException:
                cluster.shutdown()
                raise


class RowWriter:
    """Executes statements (one prepared statement over many parameter rows,
    or ready-made batches) with many in flight, retrying what failed."""

    def __init__(self, session, retry: RetryPolicy, concurrency: int):
        self.session = session
        self.retry = retry
        self.concurrency = concurrency
        self.transient = transient_errors()

    def execute(self, statement, rows: list[tuple]) -> None:
        self.execute_requests([(statement, row) for row in rows])

    def execute_batches(self, batches: list, share: int = 1) -> None:
        self.execute_requests([(batch, None) for batch in batches], share)

    def execute_requests(self, requests: list[tuple], share: int = 1) -> None:
        """(statement, parameters or None) pairs; only those that failed are
        retried. `share`: how many callers execute at once, each keeping its
        part of `concurrency` in flight."""
        pending = requests
        in_flight = max(1, self.concurrency // share)
        try:
            for attempt in self.retry.retrying(_WritesFailed, "writing to Cassandra"):
                with attempt:
                    failed = _InFlightWindow(self.session, pending, in_flight).run()
                    if failed:
                        pending = [request for request, _ in failed]
                        for _, error in failed:
                            if not isinstance(error, self.transient):
                                raise error
                        raise _WritesFailed(f"{len(failed)} of the writes failed: {failed[0][1]}")
        except _WritesFailed as failure:
            raise CassandraUnavailable(
                f"Cassandra still unavailable after {self.retry.attempts} attempts "
                f"(ingest.retry_attempts): {failure}") from None


class _InFlightWindow:
    """Executes requests (statement, parameters) with at most `concurrency` in
    flight; each answer starts the next request. Not the driver's
    execute_concurrent: when every request fails at once (no host up) it
    recurses once per request and dies with RecursionError. Here a failure that
    arrives while requests are being started only frees its slot, and the
    loop already running starts the next one."""

    def __init__(self, session, requests: list[tuple], concurrency: int):
        self.session = session
        self.requests = iter(requests)
        self.concurrency = concurrency
        self.failed: list[tuple[tuple, BaseException]] = []
        self.in_flight = 0
        self.filling = False
        self.exhausted = False
        self.lock = threading.Lock()
        self.finished = threading.Event()

    def run(self) -> list[tuple[tuple, BaseException]]:
        """The requests that failed, with their errors."""
        self._fill()
        self.finished.wait()
        return self.failed

    def _fill(self) -> None:
        with self.lock:
            if self.filling:  # another call is starting requests and will see the free slot
                return
            self.filling = True
        while True:
            with self.lock:
                request = None
                if self.in_flight < self.concurrency and not self.exhausted:
                    request = next(self.requests, None)
                    self.exhausted = request is None
                if request is None:
                    self.filling = False
                    if self.exhausted and self.in_flight == 0:
                        self.finished.set()
                    return
                self.in_flight += 1
            try:
                future = self.session.execute_async(*request)
            except Exception as error:  # noqa: BLE001 - e.g. a value the driver cannot encode
                self._failed(error, request, refill=False)
                continue
            future.add_callbacks(self._done, self._failed, errback_args=(request,))

    def _done(self, _result) -> None:
        with self.lock:
            self.in_flight -= 1
        self._fill()

    def _failed(self, error: BaseException, request: tuple, refill: bool = True) -> None:
        self.failed.append((request, error))
        with self.lock:
            self.in_flight -= 1
        if refill:
            self._fill()


class IngestWriter:
    """Writes validated faults and rejected messages."""

    def __init__(self, session, keyspace: str, shards: int, rows: RowWriter, batch_rows: int):
        self.rows = rows
        self.faults = FaultWriter(session, keyspace, batch_rows)
        self.insert_rejection = session.prepare(INSERT_REJECT.format(keyspace=keyspace))

    def write_faults(self, faults: list[Fault], columns: FaultColumns | None = None,
                     share: int = 1) -> float:
        """Faults as rows, and more as columns, in one go (`share`: as in
        RowWriter.execute_requests); returns the seconds spent building the
        batches, before any was sent."""
        began = time.perf_counter()
        batches = self.faults.batches(faults) if faults else []
        if columns is not None and len(columns):
            batches += self.faults.column_batches(columns)
        serialised = time.perf_counter() - began
        if batches:
            self.rows.execute_batches(batches, share)
        return serialised

    def write_rejections(self, rejections: list[Rejection]) -> None:
        if rejections:
            self.rows.execute(self.insert_rejection,
                              reject_rows(rejections, datetime.now(UTC)))
