"""Breach episodes in the relational table temperature_breaches, one row per
(equipment, start), rewritten with the episode's values as it goes on: a
replayed micro-batch writes the same values again, so the table stays exact."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from schemas.relational import TemperatureBreach
from spark_app.alerts.state_machine import Episode


class BreachStore:
    def __init__(self, engine: Engine):
        self._engine = engine
        self._table = TemperatureBreach.__table__

    def record(self, episodes: Iterable[Episode]) -> None:
        t = self._table
        with self._engine.begin() as connection:
            for episode in episodes:
                started = _naive(episode.started_at)
                values = {"model": episode.model, "threshold_c": episode.threshold_c,
                          "ended_at": _naive(episode.ended_at) if episode.ended_at else None,
                          "peak_average_c": episode.peak_average_c,
                          "emails_sent": episode.emails_sent, "silenced": episode.silenced}
                known = connection.execute(select(t.c.id).where(
                    t.c.equipment_id == episode.equipment_id, t.c.started_at == started)).first()
                if known is None:
                    connection.execute(t.insert().values(
                        equipment_id=episode.equipment_id, started_at=started, **values))
                else:
                    connection.execute(t.update().where(t.c.id == known.id).values(**values))


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None) if instant.tzinfo else instant
