"""`fleetwatch purge`: whole days of the day-partitioned tables (faults, the
legacy rejected_messages) deleted before a day, partition by partition. The
partition keys are enumerable (days x shards), so no table is ever scanned.

What the daily job still needs is kept unless forced: its next run (the day
after the last one that succeeded) reads that day's faults and, for a rule that
no stored pending generation serves, the faults received in the H days before
it (daily.horizon_days); so faults received before (last succeeded day + 1 - H)
are the oldest a purge may take, and only of days a run has processed. tti
across days continues from the stored violations (relational), which a purge
never touches.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

# table -> whether its partitions are (day, shard) rather than (day)
PURGEABLE = {"faults": True, "rejected_messages": False}
CONCURRENCY = 32


@dataclass(frozen=True)
class DailyHorizon:
    """The daily job's horizon (spark_app.daily.settings.DailySettings has it too;
    common/ does not import the daily box)."""
    SECTION: ClassVar[str] = "daily"

    horizon_days: int


class PurgeRefused(ValueError):
    """A purge that would lose what is still needed, or that cannot tell what to purge."""


@dataclass(frozen=True)
class PurgeResult:
    table: str
    since: date
    before: date
    days: int
    partitions: int  # the partitions that held rows, each deleted
    rows: int
    forced: bool

    def record(self) -> dict:
        return asdict(self)


def keep_from(last_succeeded: date, horizon_days: int) -> date:
    """The oldest received day whose faults the next daily run may read."""
    return last_succeeded + timedelta(days=1 - horizon_days)


def faults_refusal(before: date, last_succeeded: date | None, horizon_days: int,
                   unprocessed: Collection[date]) -> str | None:
    """Why purging faults received before `before` would lose what the daily job
    needs (None: it would not). `unprocessed`: the days to purge that hold faults
    but no succeeded daily run."""
    if last_succeeded is None:
        return ("the daily job has not succeeded for any day yet: every fault is still "
                "ahead of it")
    oldest = keep_from(last_succeeded, horizon_days)
    if before > oldest:
        return (f"the daily job's next run (day {last_succeeded + timedelta(days=1)}) may read "
                f"the faults received since {oldest} ({horizon_days} days of horizon): "
                f"purge --before {oldest} at the latest")
    if unprocessed:
        days = ", ".join(day.isoformat() for day in sorted(unprocessed))
        return f"no daily run has succeeded yet for the faults received on {days}"
    return None


def day_range(since: date, before: date) -> list[date]:
    return [since + timedelta(days=offset) for offset in range((before - since).days)]


class DayPartitions:
    """Counting and deleting the day partitions of one table, and the purges
    record of where each purge of it stopped."""

    def __init__(self, session, keyspace: str, table: str, shards: int):
        if table not in PURGEABLE:
            raise PurgeRefused(f"{table} is not purged by day; one of {', '.join(PURGEABLE)}")
        self.session, self.table = session, table
        self.shards = list(range(shards)) if PURGEABLE[table] else [None]
        where = "day = ? AND shard = ?" if PURGEABLE[table] else "day = ?"
        self.count = session.prepare(f"SELECT COUNT(*) FROM {keyspace}.{table} WHERE {where}")
        self.delete = session.prepare(f"DELETE FROM {keyspace}.{table} WHERE {where}")
        self.last = session.prepare(
            f"SELECT before FROM {keyspace}.purges WHERE table_name = ? LIMIT 1")
        self.insert = session.prepare(
            f"INSERT INTO {keyspace}.purges (table_name, before, purged_at, since, days, "
            "partitions, rows, forced) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")

    def last_before(self) -> date | None:
        """Where the last purge of the table stopped (its --before)."""
        row = self.session.execute(self.last, (self.table,)).one()
        return None if row is None else row.before.date()

    def rows_per_partition(self, since: date, before: date) -> dict[tuple, int]:
        """(day, shard) -> rows (shard None for a table of one partition per day),
        for the partitions that hold any; one bounded read per partition."""
        from cassandra.concurrent import execute_concurrent_with_args

        keys = [(day, shard) if shard is not None else (day,)
                for day in day_range(since, before) for shard in self.shards]
        results = execute_concurrent_with_args(self.session, self.count, keys,
                                               concurrency=CONCURRENCY, raise_on_first_error=True)
        counted = {}
        for key, (_ok, rows) in zip(keys, results, strict=True):
            if (count := rows.one()[0]) > 0:
                counted[key] = count
        return counted

    def delete_partitions(self, keys: list[tuple]) -> None:
        from cassandra.concurrent import execute_concurrent_with_args

        execute_concurrent_with_args(self.session, self.delete, keys, concurrency=CONCURRENCY,
                                     raise_on_first_error=True)

    def record(self, result: PurgeResult) -> None:
        self.session.execute(self.insert, (
            result.table, result.before, datetime.now(UTC), result.since, result.days,
            result.partitions, result.rows, result.forced))


def purge(partitions: DayPartitions, before: date, since: date | None, *, force: bool,
          last_succeeded_day, succeeded_days, horizon_days: int) -> PurgeResult:
    """Delete the table's partitions of the days since `since` (default: where
    the last purge stopped) before `before`, after checking (faults only, unless
    forced) that the daily job no longer needs them. `last_succeeded_day()` and
    `succeeded_days(since, before)` ask the relational job_runs. Purging again
    finds nothing left and deletes nothing."""
    table = partitions.table
    if since is not None and since > before:
        raise PurgeRefused(f"--since {since} is after --before {before}")
    if since is None:
        since = partitions.last_before()
        if since is None:
            raise PurgeRefused(f"no purge of {table} is recorded yet: say from which received "
                               "day with --since YYYY-MM-DD (the oldest day it may hold)")
    since = min(since, before)  # a boundary already passed: nothing to do
    guarded = table == "faults" and not force
    last_succeeded = last_succeeded_day() if guarded else None

    def check(unprocessed: Collection[date]) -> None:
        if guarded and (why := faults_refusal(before, last_succeeded, horizon_days,
                                              unprocessed)):
            raise PurgeRefused(f"refusing to purge faults before {before}: {why} "
                               "(--force purges anyway)")

    check(())  # the horizon first: it needs no read of Cassandra
    counted = partitions.rows_per_partition(since, before)
    if guarded:
        check({key[0] for key in counted} - set(succeeded_days(since, before)))
    partitions.delete_partitions(sorted(counted))
    result = PurgeResult(table=table, since=since, before=before,
                         days=(before - since).days, partitions=len(counted),
                         rows=sum(counted.values()), forced=force)
    if result.days:
        partitions.record(result)
    return result


# spark_app.daily.run_ledger.SUCCEEDED (common/ does not import the daily box)
SUCCEEDED = "succeeded"


def last_succeeded_day(engine) -> date | None:
    from sqlalchemy import func, select

    from schemas.relational import JobRun

    with engine.connect() as connection:
        return connection.scalar(select(func.max(JobRun.day)).where(JobRun.status == SUCCEEDED))


def succeeded_days(engine, since: date, before: date) -> set[date]:
    from sqlalchemy import select

    from schemas.relational import JobRun

    with engine.connect() as connection:
        return set(connection.scalars(
            select(JobRun.day).distinct()
            .where(JobRun.status == SUCCEEDED, JobRun.day >= since, JobRun.day < before)))
