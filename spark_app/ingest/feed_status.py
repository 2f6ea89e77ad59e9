"""`fleetwatch ingest-status`: when each feed was last pulled, from its cursor.
The daily DAG waits on it: the faults received on day D are all in Cassandra
once every feed has been pulled after D ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class FeedState:
    feed: str
    next_url: str
    updated_at: datetime  # aware, UTC


class FeedStates:
    def __init__(self, session, keyspace: str):
        self.session = session
        # feed_cursor has one row per feed: a full read is a handful of rows.
        self.select_all = session.prepare(
            f"SELECT feed, next_url, updated_at FROM {keyspace}.feed_cursor")

    def all(self) -> list[FeedState]:
        return sorted((FeedState(row.feed, row.next_url,
                                 row.updated_at.replace(tzinfo=UTC))
                       for row in self.session.execute(self.select_all)),
                      key=lambda state: state.feed)


def behind(states: list[FeedState], since: datetime) -> list[FeedState]:
    """The feeds not pulled since `since` (all of them when none is known)."""
    return [state for state in states if state.updated_at < since]
