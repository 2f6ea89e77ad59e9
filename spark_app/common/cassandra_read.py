"""Reading the Cassandra tables into Spark through the connector."""

from __future__ import annotations

from datetime import date
from functools import reduce

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_app.common.config import Config
from spark_app.common.settings import CassandraSettings

CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"


def read_table(spark: SparkSession, config: Config, table: str) -> DataFrame:
    return (spark.read.format(CASSANDRA_FORMAT)
            .options(keyspace=config.settings(CassandraSettings).keyspace, table=table)
            .load())


def partition_filter(config: Config, column: str, days: list[date]):
    """`column IN (days) AND shard IN (0 … N-1)`: the whole partition key, so the
    connector pushes it to Cassandra as direct partition reads (restricting
    only the day would scan the table and filter in Spark)."""
    shards = list(range(config.settings(CassandraSettings).shards))
    return F.col(column).isin(days) & F.col("shard").isin(shards)


def faults_received(spark: SparkSession, config: Config, days: list[date]) -> DataFrame:
    """The faults received on `days`, read partition by partition."""
    return read_table(spark, config, "faults").where(partition_filter(config, "day", days))


def faults_of_day(spark: SparkSession, config: Config, day: date) -> DataFrame:
    return faults_received(spark, config, [day])


def faults_by_shard(spark: SparkSession, config: Config, days: list[date]) -> DataFrame:
    """The faults received on `days`, one Spark partition per shard: a read
    restricting the whole partition key to one shard (`day IN days AND shard =
    k`) is one connector partition, so each shard's faults of all those days
    are in one task, and the day is read by as many tasks as there are shards
    (a single `shard IN (…)` read would be one task)."""
    faults = read_table(spark, config, "faults")
    return reduce(DataFrame.unionAll, [
        faults.where(F.col("day").isin(days) & (F.col("shard") == shard))
        for shard in range(config.settings(CassandraSettings).shards)])
