"""The daily job's DataFrame transformations (DataFrame -> DataFrame where
they can be), testable on small frames.

The evaluation input has one row per rule-relevant fault, never one per
(fault, rule): `scope` says which rules a row counts for (see
`Evaluation.scope_rules` in `spark_app.daily.evaluate`), and the Python side fans faults out to
their rules batch by batch. That keeps the shuffle as small as the day.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from schemas.spark import EVALUATION_INPUT, EVALUATION_OUTPUT, PENDING_FAULT, RULE_TAGS, VIOLATION
from spark_app.common.cassandra_read import CASSANDRA_FORMAT, partition_filter, read_table
from spark_app.common.config import Config
from spark_app.common.settings import CassandraSettings
from spark_app.daily.pending_blocks import decode_blocks


def _local_frame(spark: SparkSession, rows: list[tuple], schema: StructType) -> DataFrame:
    """A small driver-side frame built through Arrow: unlike a list of rows, it
    needs no Python worker, so broadcasting it costs milliseconds, not seconds."""
    return spark.createDataFrame(pd.DataFrame(rows, columns=schema.fieldNames()), schema)


def rule_tags(spark: SparkSession, pairs: list[tuple[str, str]]) -> DataFrame:
    """The (model, tag) pairs some rule mentions: small, broadcast."""
    return _local_frame(spark, sorted(set(pairs)), RULE_TAGS)


def relevant_faults(faults: DataFrame, tags: DataFrame, day: date) -> DataFrame:
    """The faults some rule concerns (broadcast hash semi-join), in the
    evaluation's columns; scope 0 for faults received on `day`, -k for those
    received k days before it (read again for rules no generation serves)."""
    return (faults.join(F.broadcast(tags), ["model", "tag"], "left_semi")
            .select("serial_number", "model", "tag", "ts",
                    F.datediff(F.col("day"), F.lit(day)).alias("scope")))


def stored_pending(spark: SparkSession, config: Config, as_of_days: list[date],
                   day: date) -> DataFrame:
    """The faults of the stored generations `as_of_days`, decoded from their
    blocks on the executors; scope k for the generation of D-k."""
    blocks = (read_table(spark, config, "pending_faults")
              .where(partition_filter(config, "as_of", as_of_days))
              .select("as_of", "payload"))
    return (blocks.mapInArrow(decode_blocks, PENDING_FAULT)
            .select("serial_number", "model", "tag", "ts",
                    F.datediff(F.lit(day), F.col("as_of")).alias("scope")))


def union_all(spark: SparkSession, parts: list[DataFrame]) -> DataFrame:
    if not parts:
        return _local_frame(spark, [], EVALUATION_INPUT)
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def evaluated(evaluation_input: DataFrame, evaluation, partitions: int) -> DataFrame:
    """Violations and the next generation's blocks, in one pass over the input.
    A serial's faults are co-located by the repartition and sorted, so each
    Arrow batch can be cut into whole serials."""
    return (evaluation_input
            .repartition(partitions, "serial_number")
            .sortWithinPartitions("serial_number", "ts")
            .mapInPandas(evaluation.run, EVALUATION_OUTPUT))


def violations(evaluated_rows: DataFrame) -> DataFrame:
    return evaluated_rows.where(F.col("payload").isNull()).select(*VIOLATION.fieldNames())


def pending_blocks(evaluated_rows: DataFrame, day: date) -> DataFrame:
    return (evaluated_rows.where(F.col("payload").isNotNull())
            .select(F.lit(day).alias("as_of"), "shard", "block", "faults", "payload"))


def upsert(violation_rows: DataFrame, evaluation) -> tuple[int, int]:
    """Upserts from the executors; returns (found, new). SQLite takes one writer
    at a time: concurrent tasks would only wait on its lock."""
    if evaluation.db_url.startswith("sqlite"):
        violation_rows = violation_rows.coalesce(1)
    counts = (violation_rows.mapInPandas(evaluation.upsert, "found long, new long")
              .agg(F.sum("found").alias("found"), F.sum("new").alias("new"))
              .collect()[0])
    return int(counts["found"] or 0), int(counts["new"] or 0)


def write_pending(blocks: DataFrame, config: Config) -> None:
    (blocks.write.format(CASSANDRA_FORMAT)
     .options(keyspace=config.settings(CassandraSettings).keyspace, table="pending_faults")
     .mode("append").save())
