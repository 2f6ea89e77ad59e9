"""Pending faults: the rule-relevant faults of the horizon's last days, kept in
generations so the next day's faults can still combine with them.

Generation `as_of = X` holds the faults received on X-H+1 … X, tagged with the
rule they are pending for, and is valid for day X+1. Its metadata row is the
switch: written last, and a generation without it (or built for another
horizon, or for another version of a rule) is not trusted for that rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class Generation:
    as_of: date
    horizon_days: int
    rule_fingerprints: dict[int, str]

    def covered(self, fingerprints: dict[int, str], horizon_days: int) -> set[int]:
        """The rules this generation serves as they are now."""
        if horizon_days != self.horizon_days:
            return set()
        return {rule_id for rule_id, fingerprint in fingerprints.items()
                if self.rule_fingerprints.get(rule_id) == fingerprint}


class PendingGenerations:
    """The generations' metadata and partition-level deletes, over CQL."""

    def __init__(self, session, keyspace: str, shards: int):
        self.session = session
        self.shards = list(range(shards))
        self.select_one = session.prepare(
            f"SELECT as_of, horizon_days, rule_fingerprints, complete "
            f"FROM {keyspace}.pending_generations WHERE as_of = ?")
        self.select_all = session.prepare(f"SELECT as_of FROM {keyspace}.pending_generations")
        self.mark = session.prepare(
            f"INSERT INTO {keyspace}.pending_generations "
            "(as_of, horizon_days, rule_fingerprints, complete, written_at) "
            "VALUES (?, ?, ?, true, ?)")
        self.unmark = session.prepare(
            f"DELETE FROM {keyspace}.pending_generations WHERE as_of = ?")
        self.delete_partitions = session.prepare(
            f"DELETE FROM {keyspace}.pending_faults WHERE as_of = ? AND shard IN ?")

    def get(self, as_of: date) -> Generation | None:
        row = self.session.execute(self.select_one, (as_of,)).one()
        if row is None or not row.complete:
            return None
        return Generation(_as_date(row.as_of), row.horizon_days, dict(row.rule_fingerprints or {}))

    def all_as_of(self) -> list[date]:
        return sorted(_as_date(row.as_of) for row in self.session.execute(self.select_all))

    def clear(self, as_of: date) -> None:
        """Forget generation `as_of` (metadata first, so it is never half-read)."""
        self.session.execute(self.unmark, (as_of,))
        self.session.execute(self.delete_partitions, (as_of, self.shards))

    def switch_to(self, as_of: date, horizon_days: int, fingerprints: dict[int, str]) -> None:
        self.session.execute(self.mark, (as_of, horizon_days, fingerprints,
                                         datetime.now(UTC)))

    def drop_older_than(self, keep_from: date) -> list[date]:
        dropped = [as_of for as_of in self.all_as_of() if as_of < keep_from]
        for as_of in dropped:
            self.clear(as_of)
        return dropped


def _as_date(value) -> date:
    # The driver returns cassandra.util.Date for `date` columns.
    return value if isinstance(value, date) else value.date()
