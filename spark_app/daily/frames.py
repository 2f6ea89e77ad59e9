"""The daily job's DataFrame transformations (DataFrame -> DataFrame where
they can be), testable on small frames.

The day is read shard by shard (`spark_app.common.cassandra_read.faults_by_shard`):
one Spark partition per shard, holding every fault of its serials. The semi-join with the rules' tags is a broadcast, so it keeps that
partitioning, and each task evaluates its shard where it was read: no
exchange, and evaluation starts as soon as reading does. The evaluation input
has one row per rule-relevant fault, never one per (fault, rule): `scope`
says which rules a row counts for (see `Evaluation.scope_rules` in
`spark_app.daily.evaluate`).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from schemas.spark import EVALUATION_INPUT, RULE_TAGS, SHARD_OUTCOME


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
            .withColumn("scope", F.datediff(F.col("day"), F.lit(day)))
            .select(*EVALUATION_INPUT.fieldNames()))


def shards_together(evaluation_input: DataFrame, shards: int) -> DataFrame:
    """For an input not read shard by shard (a benchmark's cached day): one
    exchange putting each shard's rows in one partition."""
    return evaluation_input.repartition(shards, "shard")


def evaluated(evaluation_input: DataFrame, evaluation) -> DataFrame:
    """One row per shard (SHARD_OUTCOME): its violations and its blocks of the
    next generation are stored by the task that evaluated it."""
    return evaluation_input.mapInArrow(evaluation.run, SHARD_OUTCOME)
