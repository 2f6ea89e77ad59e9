"""cassandra.consistency: checked when loaded, and handed to the driver's sessions
and to the Spark connector alike."""

import pytest
from cassandra import ConsistencyLevel

from spark_app.common.cassandra_session import cluster_from_config
from spark_app.common.config import ConfigError, load_config
from spark_app.common.spark_session import spark_conf


def test_the_default_is_local_quorum_and_a_level_can_be_chosen():
    assert load_config(environ={}).get("cassandra", "consistency") == "LOCAL_QUORUM"
    chosen = load_config(environ={"FLEETWATCH_CASSANDRA_CONSISTENCY": "EACH_QUORUM"})
    assert chosen.get("cassandra", "consistency") == "EACH_QUORUM"


@pytest.mark.parametrize("level", ["ANY", "SERIAL", "local_quorum", "QUORUM "])
def test_a_level_that_is_not_one_for_reads_and_writes_is_refused(level):
    with pytest.raises(ConfigError, match=r"cassandra\.consistency "
                                          r"\(FLEETWATCH_CASSANDRA_CONSISTENCY\) must be one of"):
        load_config(environ={"FLEETWATCH_CASSANDRA_CONSISTENCY": level})


def test_driver_sessions_use_the_configured_level():
    quorum = load_config(environ={"FLEETWATCH_CASSANDRA_CONSISTENCY": "QUORUM"})
    cluster = cluster_from_config(quorum)
    assert cluster.profile_manager.default.consistency_level == ConsistencyLevel.QUORUM
    cluster = cluster_from_config(load_config(environ={}))
    assert cluster.profile_manager.default.consistency_level == ConsistencyLevel.LOCAL_QUORUM


def test_the_spark_connector_reads_and_writes_at_the_configured_level():
    settings = spark_conf(load_config(environ={"FLEETWATCH_CASSANDRA_CONSISTENCY": "QUORUM"}),
                          local_jars=[])
    assert settings["spark.cassandra.input.consistency.level"] == "QUORUM"
    assert settings["spark.cassandra.output.consistency.level"] == "QUORUM"
