"""cassandra.consistency reaches Cassandra: the single local node (replication
factor 1) serves LOCAL_QUORUM, and refuses a level it cannot meet."""

import os

import pytest
from cassandra import ConsistencyLevel, Unavailable
from cassandra.cluster import NoHostAvailable

from spark_app.common.cassandra_session import cassandra_session
from spark_app.common.config import load_config


def test_a_level_the_replicas_cannot_meet_is_refused_by_cassandra(cassandra, config):
    keyspace = config.get("cassandra", "keyspace")
    query = f"SELECT next_url FROM {keyspace}.feed_cursor WHERE feed = ?"
    with cassandra_session(config) as session:  # LOCAL_QUORUM of one replica is one
        assert session.execute(session.prepare(query), ("consistency-probe",)).one() is None

    two = load_config(environ={**os.environ, "FLEETWATCH_CASSANDRA_CONSISTENCY": "TWO"})
    with cassandra_session(two) as session, pytest.raises(NoHostAvailable) as refused:
        session.execute(session.prepare(query), ("consistency-probe",))
    [error] = refused.value.errors.values()  # the driver tried the one host it knows
    assert isinstance(error, Unavailable)
    assert (error.consistency, error.required_replicas, error.alive_replicas) == \
        (ConsistencyLevel.TWO, 2, 1)
