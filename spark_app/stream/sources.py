"""Where readings come from, as one streaming frame of text lines:
value (the line), source (file path or topic/partition), position (Kafka
offset:line, null for files), received_at (file modification or Kafka record time)."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_app.stream.settings import StreamSettings


def read_lines(spark: SparkSession, settings: StreamSettings) -> DataFrame:
    if settings.source == "kafka":
        return _kafka_lines(spark, settings)
    return _file_lines(spark, settings)


def _file_lines(spark: SparkSession, settings: StreamSettings) -> DataFrame:
    # Read as text, not as JSON/CSV: a malformed line must reach the parser to be
    # rejected with its reason. Files whose names start with "." or "_" are ignored
    # by Spark, so writers can write under such a name and rename when complete.
    settings.source_dir.mkdir(parents=True, exist_ok=True)
    reader = spark.readStream.format("text")
    if settings.max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", settings.max_files_per_trigger)
    return reader.load(str(settings.source_dir)).select(
        "value",
        F.col("_metadata.file_path").alias("source"),
        F.lit(None).cast("string").alias("position"),
        F.col("_metadata.file_modification_time").alias("received_at"),
    )


def _kafka_lines(spark: SparkSession, settings: StreamSettings) -> DataFrame:
    reader = (spark.readStream.format("kafka")
              .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
              .option("subscribe", settings.kafka_topic)
              .option("startingOffsets", "earliest")
              .options(**settings.kafka.spark_source_options()))
    if settings.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", settings.max_offsets_per_trigger)
    records = reader.load()
    # A record may carry several newline-separated readings.
    lines = records.select(
        F.posexplode(F.split(F.col("value").cast("string"), "\n")).alias("line_no", "value"),
        F.concat_ws("/", "topic", "partition").alias("source"),
        "offset", F.col("timestamp").alias("received_at"))
    return lines.select(
        "value", "source",
        F.concat_ws(":", F.col("offset").cast("string"), F.col("line_no").cast("string"))
         .alias("position"),
        "received_at")
