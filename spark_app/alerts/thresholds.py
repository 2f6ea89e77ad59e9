"""Alert thresholds from the relational table temperature_thresholds, reread
every stream.thresholds_refresh_s so an edit takes effect without a restart."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from schemas.relational import TemperatureThreshold
from spark_app.alerts.state_machine import Thresholds

log = logging.getLogger("fleetwatch.stream")


def load_thresholds(engine: Engine, default_c: float) -> Thresholds:
    by_equipment, by_model = {}, {}
    with engine.connect() as connection:
        rows = connection.execute(select(TemperatureThreshold.equipment_id,
                                         TemperatureThreshold.model,
                                         TemperatureThreshold.threshold_c))
        for equipment_id, model, threshold_c in rows:
            if equipment_id is not None:
                by_equipment[equipment_id] = float(threshold_c)
            else:
                by_model[model] = float(threshold_c)
    return Thresholds(default_c, by_model, by_equipment)


class ThresholdSource:
    def __init__(self, engine: Engine, default_c: float, refresh_s: float,
                 clock: Callable[[], float] = time.monotonic):
        self._engine = engine
        self._default_c = default_c
        self._refresh_s = refresh_s
        self._clock = clock
        self._loaded_at: float | None = None
        self._thresholds: Thresholds | None = None

    def current(self) -> Thresholds:
        """The thresholds, reread when due. If the database cannot be read then,
        the last ones stay in force (a database hiccup must not stop the watch);
        only the very first read has no fallback."""
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._refresh_s:
            try:
                self._thresholds = load_thresholds(self._engine, self._default_c)
            except SQLAlchemyError as error:
                if self._thresholds is None:
                    raise
                log.warning("keeping the last thresholds, the database failed: %s", error)
            self._loaded_at = now
        return self._thresholds
