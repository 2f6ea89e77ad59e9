"""The daily job's DataFrame transformations (DataFrame -> DataFrame where
they can be), testable on small frames."""

from __future__ import annotations

from datetime import date, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from schemas.spark import PENDING_FAULTS
from spark_app.cassandra_read import CASSANDRA_FORMAT, read_table
from spark_app.config import Config

RULE_MAP = StructType([StructField("model", StringType(), False),
                       StructField("tag", StringType(), False),
                       StructField("rule_id", LongType(), False)])
EVALUATION_COLUMNS = ["rule_id", "serial_number", "tag", "ts", "received_day"]
VIOLATIONS = "rule_id long, serial_number string, ts timestamp"


def rule_map(spark: SparkSession, rows: list[tuple[str, str, int]]) -> DataFrame:
    """(model, tag) → rule_id, one row per tag of each rule: small, broadcast."""
    return spark.createDataFrame(rows, RULE_MAP)


def faults_received(spark: SparkSession, config: Config, days: list[date]) -> DataFrame:
    """Faults received on `days`; the whole partition key (day, shard) is pushed down."""
    shards = list(range(config.get("cassandra", "shards")))
    return (read_table(spark, config, "faults")
            .where(F.col("day").isin(days) & F.col("shard").isin(shards)))


def relevant_faults(faults: DataFrame, rules: DataFrame) -> DataFrame:
    """Faults joined with the rules they concern (broadcast hash join), in the
    evaluation's columns."""
    return (faults.join(F.broadcast(rules), ["model", "tag"])
            .select("rule_id", "serial_number", "tag", "ts", F.col("day").alias("received_day")))


def pending_of(spark: SparkSession, config: Config, generation, covered: set[int], rulebook,
               missing: set[int], day: date, horizon: int) -> DataFrame:
    """The pending faults valid for `day`: from generation as_of D-1 for the rules
    it serves, rebuilt from the faults of D-H … D-1 for the others."""
    parts = []
    if generation is not None and covered:
        shards = list(range(config.get("cassandra", "shards")))
        parts.append(read_table(spark, config, "pending_faults")
                     .where((F.col("as_of") == F.lit(generation.as_of))
                            & F.col("shard").isin(shards))
                     .where(F.col("rule_id").isin(sorted(covered)))
                     .select(*EVALUATION_COLUMNS))
    if horizon and missing:
        days = [day - timedelta(days=back) for back in range(horizon, 0, -1)]
        parts.append(relevant_faults(faults_received(spark, config, days),
                                     rule_map(spark, rulebook.tag_rows(sorted(missing)))))
    if not parts:
        return spark.createDataFrame([], PENDING_FAULTS).select(*EVALUATION_COLUMNS)
    result = parts[0]
    for part in parts[1:]:
        result = result.unionByName(part)
    return result


def evaluate_and_upsert(evaluation_input: DataFrame, evaluation, partitions: int) -> tuple[int, int]:
    """Violations of every (rule, serial) group, upserted from the executors;
    returns (found, new). Groups are co-located by the repartition and sorted so
    each Arrow batch can be cut into whole groups."""
    counts = (evaluation_input
              .repartition(partitions, "rule_id", "serial_number")
              .sortWithinPartitions("rule_id", "serial_number", "ts")
              .mapInPandas(evaluation.violations, VIOLATIONS)
              .mapInPandas(evaluation.upsert, "found long, new long")
              .agg(F.sum("found").alias("found"), F.sum("new").alias("new"))
              .collect()[0])
    return int(counts["found"] or 0), int(counts["new"] or 0)


def next_generation(evaluation_input: DataFrame, day: date, horizon: int,
                    shards: int) -> DataFrame:
    """Generation as_of D: the evaluation input received on D-H+1 … D."""
    oldest_kept = day - timedelta(days=horizon - 1)
    return (evaluation_input
            .where(F.col("received_day") >= F.lit(oldest_kept))
            .withColumn("as_of", F.lit(day))
            # crc32 of the UTF-8 bytes, as spark_app.faults.shard_of computes it
            .withColumn("shard", (F.crc32(F.col("serial_number").cast("binary"))
                                  % F.lit(shards)).cast("int"))
            .select(*PENDING_FAULTS.fieldNames()))


def write_pending(generation: DataFrame, config: Config) -> None:
    (generation.write.format(CASSANDRA_FORMAT)
     .options(keyspace=config.get("cassandra", "keyspace"), table="pending_faults")
     .mode("append").save())
