"""Rejected lines kept aside in Cassandra (table rejected_readings), keyed so a
replayed micro-batch rewrites the same rows instead of adding copies."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spark_app.common.config import Config
from spark_app.common.settings import CassandraSettings

CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"


def with_record_keys(rejected: DataFrame) -> DataFrame:
    """rejected (source, position, received_at, reason, payload) -> the table's rows.
    record_key: the Kafka position; for a file line (a file is always read whole in
    one batch) the line's hash and its occurrence among identical lines of the file."""
    occurrence = F.row_number().over(Window.partitionBy("source", "payload").orderBy("payload"))
    file_key = F.concat(F.substring(F.sha2("payload", 256), 1, 16), F.lit("#"),
                        occurrence.cast("string"))
    return rejected.select(
        F.to_date("received_at").alias("day"), "source",
        F.coalesce(F.col("position"), file_key).alias("record_key"),
        "received_at", "reason", "payload")


def write_rejected(batch: DataFrame, config: Config) -> None:
    (with_record_keys(batch).write.format(CASSANDRA_FORMAT)
     .options(keyspace=config.settings(CassandraSettings).keyspace, table="rejected_readings")
     .mode("append").save())
