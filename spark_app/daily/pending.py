"""Pending faults: the rule-relevant faults of the horizon's last days, kept so
the next days' faults can still combine with them.

One generation per received day: generation `as_of = X` holds the faults
received on X that concerned an active rule, packed in blocks
(`pending_blocks`), and serves days X+1 … X+H. Its metadata row is the
switch: written after all its blocks, and a generation without it is never
read. For a rule whose fingerprint (model and tags) the generation was not
built for, the day is rebuilt from `faults` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from spark_app.daily.pending_blocks import decode


@dataclass(frozen=True)
class Generation:
    as_of: date
    rule_fingerprints: dict[int, str]

    def covered(self, fingerprints: dict[int, str]) -> frozenset[int]:
        """The rules this generation serves as they are now."""
        return frozenset(rule_id for rule_id, fingerprint in fingerprints.items()
                         if self.rule_fingerprints.get(rule_id) == fingerprint)


def horizon_days(day: date, horizon: int) -> list[date]:
    """The received days whose faults are still pending for `day`: D-H … D-1."""
    return [day - timedelta(days=back) for back in range(horizon, 0, -1)]


@dataclass(frozen=True)
class PendingPlan:
    """Where day D's pending faults come from, rule by rule.

    `stored_days`: generations to decode; `reread`: days of `faults` to read
    again, with the rules that need them; `scope_rules`: which rules the rows of
    each scope count for (k > 0: generation D-k; -k: D-k read again)."""
    stored_days: list[date]
    reread: dict[date, frozenset[int]]
    scope_rules: dict[int, frozenset[int]]

    @classmethod
    def of(cls, day: date, generations: dict[date, Generation | None],
           fingerprints: dict[int, str]) -> PendingPlan:
        """`generations`: D-H … D-1 (all of them, in any order), None where there
        is none. A rule a generation serves as it is now is read from it;
        every other rule (new, changed, or no generation) from `faults`."""
        every_rule = frozenset(fingerprints)
        stored_days, reread, scope_rules = [], {}, {}
        for as_of in sorted(generations):
            back = (day - as_of).days
            generation = generations[as_of]
            covered = generation.covered(fingerprints) if generation else frozenset()
            if covered:
                stored_days.append(as_of)
                scope_rules[back] = covered
            if every_rule - covered:
                reread[as_of] = scope_rules[-back] = every_rule - covered
        return cls(stored_days, reread, scope_rules)


class PendingGenerations:
    """The generations' metadata and partition-level deletes, over CQL."""

    def __init__(self, session, keyspace: str, shards: int):
        self.session = session
        self.shards = list(range(shards))
        self.select_one = session.prepare(
            f"SELECT as_of, rule_fingerprints FROM {keyspace}.pending_generations "
            "WHERE as_of = ?")
        self.select_all = session.prepare(f"SELECT as_of FROM {keyspace}.pending_generations")
        self.mark = session.prepare(
            f"INSERT INTO {keyspace}.pending_generations "
            "(as_of, rule_fingerprints, faults, written_at) VALUES (?, ?, ?, ?)")
        self.unmark = session.prepare(
            f"DELETE FROM {keyspace}.pending_generations WHERE as_of = ?")
        self.delete_partitions = session.prepare(
            f"DELETE FROM {keyspace}.pending_faults WHERE as_of = ? AND shard IN ?")
        self.select_blocks = session.prepare(
            f"SELECT payload FROM {keyspace}.pending_faults WHERE as_of = ? AND shard IN ?")

    def plan(self, day: date, horizon: int, fingerprints: dict[int, str]) -> PendingPlan:
        return PendingPlan.of(day, {as_of: self.get(as_of)
                                    for as_of in horizon_days(day, horizon)}, fingerprints)

    def get(self, as_of: date) -> Generation | None:
        row = self.session.execute(self.select_one, (as_of,)).one()
        if row is None:
            return None
        return Generation(_as_date(row.as_of), dict(row.rule_fingerprints or {}))

    def all_as_of(self) -> list[date]:
        return sorted(_as_date(row.as_of) for row in self.session.execute(self.select_all))

    def clear(self, as_of: date) -> None:
        """Forget generation `as_of` (metadata first, so it is never half-read)."""
        self.session.execute(self.unmark, (as_of,))
        self.session.execute(self.delete_partitions, (as_of, self.shards))

    def switch_to(self, as_of: date, fingerprints: dict[int, str], faults: int) -> None:
        self.session.execute(self.mark, (as_of, fingerprints, faults, datetime.now(UTC)))

    def drop_older_than(self, keep_from: date) -> list[date]:
        dropped = [as_of for as_of in self.all_as_of() if as_of < keep_from]
        for as_of in dropped:
            self.clear(as_of)
        return dropped

    def faults(self, as_of: date) -> list[tuple[str, str, str, datetime]]:
        """The decoded faults of one generation, sorted: for people and tests
        (the daily job decodes blocks on the executors)."""
        rows = []
        for block in self.session.execute(self.select_blocks, (as_of, self.shards)):
            table = decode(block.payload)
            rows += zip(*(table.column(name).to_pylist()
                          for name in ("serial_number", "model", "tag", "ts")), strict=True)
        return sorted(rows)


def _as_date(value) -> date:
    # The driver returns cassandra.util.Date for `date` columns.
    return value if isinstance(value, date) else value.date()


class ShardBlocks:
    """One shard's blocks, read and written by the Spark task that evaluates
    the shard: it fetches the generations it continues from (a few large
    cells) and stores the next one, with no second pass over the day."""

    # Blocks are large cells (thousands of faults each): small pages keep a
    # page far below the protocol's frame limit.
    FETCH_BLOCKS = 8

    def __init__(self, session, keyspace: str):
        self.session = session
        self.select = session.prepare(
            f"SELECT as_of, payload FROM {keyspace}.pending_faults WHERE as_of IN ? AND shard = ?")
        self.select.fetch_size = self.FETCH_BLOCKS
        self.insert = session.prepare(
            f"INSERT INTO {keyspace}.pending_faults (as_of, shard, block, faults, payload) "
            "VALUES (?, ?, ?, ?, ?)")

    def read(self, as_of_days: list[date], shard: int) -> Iterator[tuple[date, bytes]]:
        if not as_of_days:
            return
        for row in self.session.execute(self.select, (as_of_days, shard)):
            yield _as_date(row.as_of), row.payload

    def write(self, as_of: date, blocks: list[tuple[int, int, int, bytes]]) -> None:
        """(shard, block, faults, payload) rows of generation `as_of`."""
        from cassandra.concurrent import execute_concurrent_with_args

        execute_concurrent_with_args(
            self.session, self.insert,
            [(as_of, shard, block, faults, payload) for shard, block, faults, payload in blocks],
            concurrency=4, raise_on_first_error=True)
