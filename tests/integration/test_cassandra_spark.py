"""Faults written over CQL, read back over CQL and through the Spark connector."""

from datetime import UTC, date, datetime, timedelta

import pytest

from schemas.faults import Fault, fault_tag, shard_of
from schemas.spark import CASSANDRA_TABLES
from spark_app.common.cassandra_read import faults_of_day
from spark_app.ingest.faults import FaultWriter

DAY = date(2016, 11, 18)
RECEIVED = datetime(2016, 11, 18, 20, 30, tzinfo=UTC)
T0 = datetime(2016, 11, 16, 13, 34, tzinfo=UTC)


@pytest.fixture(scope="module")
def written(cassandra, config):
    cassandra.execute("TRUNCATE faults")
    shards = config.get("cassandra", "shards")
    faults = [Fault.of(f"JAP{n:05d}", "JAP", fault_tag("event", 123, 456, n % 3),
                       T0 + timedelta(seconds=n, milliseconds=n), RECEIVED, shards)
              for n in range(40)]
    other_day = Fault.of("JAP00000", "JAP", "#1.1.1.1", T0, RECEIVED + timedelta(days=1), shards)
    writer = FaultWriter(cassandra, config.get("cassandra", "keyspace"))
    writer.write(faults + [other_day])
    return faults


def test_faults_round_trip_over_cql(cassandra, config, written):
    shards = config.get("cassandra", "shards")
    query = cassandra.prepare(
        "SELECT serial_number, tag, ts, shard FROM faults WHERE day = ? AND shard IN ?")
    rows = cassandra.execute(query, (DAY, list(range(shards))))
    got = sorted((r.serial_number, r.tag, r.ts.replace(tzinfo=UTC), r.shard)
                 for r in rows)
    want = sorted((f.serial_number, f.tag, f.ts, shard_of(f.serial_number, shards))
                  for f in written)
    assert got == want


def test_reingesting_the_same_fault_is_an_upsert(cassandra, config, written):
    writer = FaultWriter(cassandra, config.get("cassandra", "keyspace"))
    writer.write(written[:10])
    query = cassandra.prepare("SELECT count(*) FROM faults WHERE day = ? AND shard IN ?")
    count = cassandra.execute(
        query, (DAY, list(range(config.get("cassandra", "shards"))))).one()[0]
    assert count == len(written)


def test_spark_reads_one_day_with_the_partition_key_pushed_down(spark, config, written):
    frame = faults_of_day(spark, config, DAY)
    plan = frame._jdf.queryExecution().executedPlan().toString()
    pushed = [line for line in plan.splitlines() if "Cassandra Filters" in line]
    assert pushed and '"day" = ?' in pushed[0] and '"shard" IN' in pushed[0], plan
    assert "Filter (" not in plan, "the day filter must not be evaluated by Spark"
    rows = frame.select("serial_number", "tag", "ts").collect()
    got = sorted((r.serial_number, r.tag, r.ts.replace(tzinfo=None)) for r in rows)
    # Spark hands back naive datetimes in the session time zone (UTC).
    want = sorted((f.serial_number, f.tag, f.ts.replace(tzinfo=None)) for f in written)
    assert got == want


def test_the_read_by_shard_is_one_spark_partition_per_shard_with_all_its_days(
        spark, config, written):
    """What the daily job's no-exchange design stands on: each Spark partition
    of `faults_by_shard` holds every fault of one shard, of every day asked."""
    from pyspark.sql import functions as F

    from spark_app.common.cassandra_read import faults_by_shard

    shards = config.get("cassandra", "shards")
    frame = faults_by_shard(spark, config, [DAY, DAY + timedelta(days=1)])
    assert frame.rdd.getNumPartitions() == shards
    rows = (frame.select(F.spark_partition_id().alias("partition"), "shard", "day",
                         "serial_number").collect())
    assert {row.partition: row.shard for row in rows} == {row.shard: row.shard for row in rows}
    assert sorted((row.day, row.serial_number) for row in rows) == sorted(
        [(DAY, f.serial_number) for f in written] + [(DAY + timedelta(days=1), "JAP00000")])
    first = shard_of("JAP00000", shards)
    assert {row.day for row in rows if row.partition == first} == {DAY, DAY + timedelta(days=1)}


@pytest.mark.parametrize("table", sorted(CASSANDRA_TABLES))
def test_cassandra_tables_match_their_spark_schemas(cassandra, config, table):
    query = cassandra.prepare("SELECT column_name FROM system_schema.columns "
                              "WHERE keyspace_name = ? AND table_name = ?")
    rows = cassandra.execute(query, (config.get("cassandra", "keyspace"), table))
    assert sorted(r.column_name for r in rows) == sorted(CASSANDRA_TABLES[table].fieldNames())


def test_spark_schema_of_the_connector_matches(spark, config, cassandra):
    from spark_app.common.cassandra_read import read_table

    for table, schema in CASSANDRA_TABLES.items():
        live = read_table(spark, config, table).schema
        assert sorted(live.fieldNames()) == sorted(schema.fieldNames()), table
        for field in schema.fields:
            if table == "rejected_messages" and field.name == "id":
                continue  # timeuuid: the connector reads it as a string
            assert live[field.name].dataType == field.dataType, (table, field.name)
