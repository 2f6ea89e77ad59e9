"""Writing ingested rows to Cassandra: prepared statements, many in flight,
retried with backoff while Cassandra is briefly unavailable.

Every write here is idempotent (faults and cursors are upserts by key; a
rejected message gets its timeuuid before the first attempt), so retrying a
write whose answer was lost never doubles a row.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from spark_app.config import Config
from spark_app.faults import FaultWriter
from spark_app.ingest_records import FaultRow, Rejection

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


class _WritesFailed(Exception):
    """Some writes of one round failed with transient errors."""


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors after which the same write may well succeed a little later."""
    from cassandra import OperationTimedOut, Unavailable, WriteTimeout
    from cassandra.cluster import NoHostAvailable
    from cassandra.connection import ConnectionException
    from cassandra.protocol import IsBootstrappingErrorMessage, OverloadedErrorMessage

    return (NoHostAvailable, OperationTimedOut, WriteTimeout, Unavailable, ConnectionException,
            OverloadedErrorMessage, IsBootstrappingErrorMessage)


def connect(config: Config, retry: RetryPolicy):
    """A session on the configured keyspace, waiting (with retries) for Cassandra."""
    from cassandra.cluster import NoHostAvailable
    from cassandra.policies import ConstantReconnectionPolicy

    from spark_app.cassandra_session import cluster_from_config

    for attempt in retry.retrying(NoHostAvailable, "connecting to Cassandra"):
        with attempt:
            # Reconnect every second while a node is down (the driver's default
            # backs off to minutes, longer than a restart takes).
            cluster = cluster_from_config(
                config, reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None))
            try:
                return cluster.connect(config.get("cassandra", "keyspace"))
            except BaseException:
                cluster.shutdown()
                raise


class RowWriter:
    """Executes one prepared statement over many parameter rows, with retries."""

    def __init__(self, session, retry: RetryPolicy, concurrency: int):
        self.session = session
        self.retry = retry
        self.concurrency = concurrency
        self.transient = transient_errors()

    def execute(self, statement, rows: list[tuple]) -> None:
        from cassandra.concurrent import execute_concurrent_with_args

        pending = rows
        try:
            for attempt in self.retry.retrying(_WritesFailed, "writing to Cassandra"):
                with attempt:
                    results = execute_concurrent_with_args(
                        self.session, statement, pending, concurrency=self.concurrency,
                        raise_on_first_error=False)
                    failed = [(row, result) for row, (ok, result) in zip(pending, results)
                              if not ok]
                    if failed:
                        pending = [row for row, _ in failed]  # only these are retried
                        for _, error in failed:
                            if not isinstance(error, self.transient):
                                raise error
                        raise _WritesFailed(f"{len(failed)} of the writes failed: {failed[0][1]}")
        except _WritesFailed as failure:
            raise CassandraUnavailable(
                f"Cassandra still unavailable after {self.retry.attempts} attempts "
                f"(ingest.retry_attempts): {failure}") from None


class IngestWriter:
    """Writes validated faults and rejected messages."""

    def __init__(self, session, keyspace: str, shards: int, rows: RowWriter):
        self.rows = rows
        self.insert_fault = FaultWriter(session, keyspace, shards).insert
        self.insert_rejection = session.prepare(
            f"INSERT INTO {keyspace}.rejected_messages (day, id, source, reason, payload) "
            "VALUES (?, ?, ?, ?, ?)")

    def write_faults(self, faults: list[FaultRow]) -> None:
        if faults:
            self.rows.execute(self.insert_fault, faults)

    def write_rejections(self, rejections: list[Rejection], day: date) -> None:
        if rejections:
            # uuid1 is a timeuuid; made once here so a retried write keeps its id
            self.rows.execute(self.insert_rejection, [
                (day, uuid.uuid1(), rejection.source, rejection.reason, rejection.payload)
                for rejection in rejections])
