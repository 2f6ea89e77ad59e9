"""Event-time sliding windows of readings per equipment: computed, stored in
Cassandra, brought to the driver for the alerting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_app.alerts.state_machine import WindowStat
from spark_app.common.config import Config
from spark_app.common.settings import CassandraSettings

CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"


def windowed_averages(readings: DataFrame, window: str, slide: str,
                      watermark: str) -> DataFrame:
    """readings (equipment_id, ts, temperature_c, model) -> per equipment and window:
    equipment_id, window_start, window_end, model, avg_c, max_c, readings.
    Readings later than the watermark no longer change a window: Spark drops them
    and counts them in the query's progress (numRowsDroppedByWatermark)."""
    return (readings
            .withWatermark("ts", watermark)
            .groupBy("equipment_id", F.window("ts", window, slide))
            .agg(F.avg("temperature_c").alias("avg_c"),
                 F.max("temperature_c").alias("max_c"),
                 F.count(F.lit(1)).alias("readings"),
                 # deterministic when readings disagree or some lack the model
                 F.max("model").alias("model"))
            .select("equipment_id", F.col("window.start").alias("window_start"),
                    F.col("window.end").alias("window_end"), "model", "avg_c", "max_c",
                    "readings"))


def write_windows(batch: DataFrame, config: Config, ttl_s: int) -> None:
    """Upsert by (equipment, window): a replayed batch overwrites the same rows."""
    (batch.write.format(CASSANDRA_FORMAT)
     .options(keyspace=config.settings(CassandraSettings).keyspace, table="temperature_windows",
              ttl=str(ttl_s))
     .mode("append").save())


def collect_window_stats(windows: DataFrame) -> list[WindowStat]:
    """Brings windows to the driver (bounded: equipment x windows per batch).
    Instants travel as epoch microseconds: Python's local zone never gets a say."""
    rows = windows.select(
        "equipment_id", F.unix_micros("window_start").alias("start_us"),
        F.unix_micros("window_end").alias("end_us"), "model", "avg_c", "max_c",
        "readings").collect()
    return [WindowStat(row.equipment_id, _instant(row.start_us), _instant(row.end_us),
                       row.model, row.avg_c, row.max_c, row.readings) for row in rows]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
