"""The audience of the temperature alerts: the routes and silences of the
violations, applied to an equipment (a reading's equipment_id is the registry's
serial_number) at the severity notify.temperature_severity. Routes and silences
are reread every stream.thresholds_refresh_s; the registry rows of a batch's
equipment are read once per refresh. A database hiccup keeps the last answers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from schemas.relational import Equipment
from spark_app.people.routes import RouteStore, default_route, routes_for
from spark_app.people.silences import SilenceStore, silenced

log = logging.getLogger("fleetwatch.stream")
IN_LIST = 500


class FleetAudience:
    def __init__(self, engine: Engine, default_recipients: Sequence[str], severity: str,
                 refresh_s: float, clock: Callable[[], float] = time.monotonic):
        self._engine = engine
        self._default = default_route(default_recipients)
        self._severity = severity
        self._refresh_s = refresh_s
        self._clock = clock
        self._loaded_at: float | None = None
        self._routes = []
        self._silences = []
        self._registry: dict[str, tuple[str, str, str] | None] = {}

    def prepare(self, equipment_ids: set[str]) -> None:
        now = self._clock()
        try:
            if self._loaded_at is None or now - self._loaded_at >= self._refresh_s:
                routes, silences = RouteStore(self._engine).list(), SilenceStore(self._engine).list()
                self._routes, self._silences, self._registry = routes, silences, {}
                self._loaded_at = now
            self._load_registry(equipment_ids - self._registry.keys())
        except SQLAlchemyError as error:
            if self._loaded_at is None:
                raise
            log.warning("keeping the last routes and silences, the database failed: %s", error)

    def _load_registry(self, missing: set[str]) -> None:
        ids = sorted(missing)
        found: dict[str, tuple[str, str, str] | None] = dict.fromkeys(ids)
        with self._engine.connect() as connection:
            for start in range(0, len(ids), IN_LIST):
                rows = connection.execute(
                    select(Equipment.serial_number, Equipment.model, Equipment.site,
                           Equipment.team)
                    .where(Equipment.serial_number.in_(ids[start:start + IN_LIST])))
                for serial, model, site, team in rows:
                    found[serial] = (model, site, team)
        self._registry.update(found)

    def _subject(self, equipment_id: str, model: str | None) -> dict[str, str | None]:
        known = self._registry.get(equipment_id)
        if known is None:
            return {"model": model, "site": None, "team": None}
        return {"model": known[0], "site": known[1], "team": known[2]}

    def recipients(self, equipment_id: str, model: str | None) -> list[str]:
        routes = routes_for(self._routes, self._default, severity=self._severity,
                            **self._subject(equipment_id, model))
        return list(dict.fromkeys(address for route in routes for address in route.recipients))

    def silenced(self, equipment_id: str, model: str | None, at: datetime) -> bool:
        subject = self._subject(equipment_id, model)
        return silenced(self._silences, at, serial_number=equipment_id, model=subject["model"],
                        site=subject["site"])
