"""Alert states in Cassandra (table temperature_alerts), one row per equipment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from schemas.spark import TEMPERATURE_ALERTS
from spark_app.alerts.state_machine import AlertState
from spark_app.common.cassandra_retry import ONCE, CassandraRetry

# The table's columns (schemas.spark), each an AlertState field, but the write time.
_COLUMNS = tuple(name for name in TEMPERATURE_ALERTS.fieldNames() if name != "updated_at")
_INSTANTS = ("breach_started", "last_notified", "last_window_end", "pending_since")
CONCURRENCY = 64


class AlertStateStore:
    def __init__(self, session, retry: CassandraRetry = ONCE):
        """`session`: a cassandra-driver session on the fleetwatch keyspace; `retry`:
        how a failing load or save is retried (both are safe to repeat)."""
        self._session = session
        self._retry = retry
        self._select = session.prepare(
            f"SELECT {', '.join(_COLUMNS)} FROM temperature_alerts WHERE equipment_id = ?")
        self._upsert = session.prepare(
            f"INSERT INTO temperature_alerts ({', '.join(_COLUMNS)}, updated_at) "
            f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})")

    def load(self, equipment_ids: Iterable[str]) -> dict[str, AlertState]:
        """The stored states of these equipment (missing ones: never evaluated)."""
        ids = sorted(set(equipment_ids))
        return self._retry.call("loading alert states", lambda: self._load(ids))

    def _load(self, ids: list[str]) -> dict[str, AlertState]:
        from cassandra.concurrent import execute_concurrent_with_args

        results = execute_concurrent_with_args(self._session, self._select,
                                               [(i,) for i in ids], concurrency=CONCURRENCY)
        states = {}
        for success, rows in results:
            if not success:
                raise rows  # the driver hands back the exception
            for row in rows:
                states[row.equipment_id] = _state(row)
        return states

    def save(self, states: Iterable[AlertState], now: datetime) -> None:
        from cassandra.concurrent import execute_concurrent_with_args

        parameters = [tuple(getattr(state, column) for column in _COLUMNS) + (now,)
                      for state in states]
        self._retry.call("saving alert states", lambda: execute_concurrent_with_args(
            self._session, self._upsert, parameters, concurrency=CONCURRENCY,
            raise_on_first_error=True))


def _state(row) -> AlertState:
    values = {column: getattr(row, column) for column in _COLUMNS}
    for column in _INSTANTS:
        if values[column] is not None:  # the driver returns naive UTC datetimes
            values[column] = values[column].replace(tzinfo=UTC)
    values["alerting"] = bool(values["alerting"])
    values["notices"] = values["notices"] or 0
    # rows written before migration 014 have no episode columns
    values["breach_emails"] = values["breach_emails"] or 0
    values["breach_silenced"] = bool(values["breach_silenced"])
    return AlertState(**values)
