"""Event-time sliding windows of readings per equipment: computed, stored in
Cassandra, brought to the driver for the alerting."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spark_app.alerts.state_machine import WindowStat
from spark_app.common.config import Config
from spark_app.common.settings import CassandraSettings
from spark_app.stream.settings import duration_seconds

CASSANDRA_FORMAT = "org.apache.spark.sql.cassandra"
_PARTIALS_SCHEMA = ("equipment_id string, ts timestamp, temperature_sum double, "
                    "readings long, max_c double, model string")


def windowed_averages(readings: DataFrame, window: str, slide: str,
                      watermark: str) -> DataFrame:
    """readings (equipment_id, ts, temperature_c, model) -> per equipment and window:
    equipment_id, window_start, window_end, model, avg_c, max_c, readings.
    Readings later than the watermark no longer change a window: Spark drops them
    and counts them in the query's progress (numRowsDroppedByWatermark).

    Each reading lies in window/slide sliding windows (10): expanding every reading
    into its windows before aggregating was most of a micro-batch's time. So the
    readings are first summed per equipment and bucket (the largest span no window
    boundary cuts: gcd of window and slide) within each Arrow batch, vectorised
    and stateless, and only those partial rows are expanded into windows."""
    bucket_s = math.gcd(duration_seconds(window, "window"), duration_seconds(slide, "slide"))
    partials = readings.select("equipment_id", "ts", "temperature_c", "model").mapInArrow(
        partial(_bucket_partials, bucket_us=bucket_s * 1_000_000), _PARTIALS_SCHEMA)
    return (partials
            # a bucket's ts is its newest reading's: the watermark moves as with the readings
            .withWatermark("ts", watermark)
            .groupBy("equipment_id", F.window("ts", window, slide))
            .agg((F.sum("temperature_sum") / F.sum("readings")).alias("avg_c"),
                 F.max("max_c").alias("max_c"),
                 F.sum("readings").alias("readings"),
                 # deterministic when readings disagree or some lack the model
                 F.max("model").alias("model"))
            .select("equipment_id", F.col("window.start").alias("window_start"),
                    F.col("window.end").alias("window_end"), "model", "avg_c", "max_c",
                    "readings"))


def _bucket_partials(batches: Iterator, bucket_us: int) -> Iterator:
    """Arrow batches of readings -> per (equipment, bucket) of each batch: sum and count
    of the temperatures, their max, the newest ts, the greatest model (nulls ignored,
    as Spark's max does)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for batch in batches:
        if batch.num_rows == 0:
            continue
        micros = batch.column("ts").cast(pa.int64())
        # floor division, also before 1970
        bucket = pc.divide(pc.subtract(micros, pc.if_else(pc.less(micros, 0), bucket_us - 1, 0)),
                           bucket_us)
        table = pa.Table.from_batches([batch]).append_column("bucket", bucket)
        summed = table.group_by(["equipment_id", "bucket"]).aggregate([
            ("ts", "max"), ("temperature_c", "sum"), ("temperature_c", "count"),
            ("temperature_c", "max"), ("model", "max")])
        yield from pa.Table.from_arrays(
            [summed.column(name) for name in ("equipment_id", "ts_max", "temperature_c_sum",
                                               "temperature_c_count", "temperature_c_max",
                                               "model_max")],
            names=["equipment_id", "ts", "temperature_sum", "readings", "max_c", "model"],
        ).to_batches()


def write_windows(batch: DataFrame, config: Config, ttl_s: int) -> None:
    """Upsert by (equipment, window): a replayed batch overwrites the same rows."""
    (batch.write.format(CASSANDRA_FORMAT)
     .options(keyspace=config.settings(CassandraSettings).keyspace, table="temperature_windows",
              ttl=str(ttl_s))
     .mode("append").save())


def decisive(windows: DataFrame, slide_s: int) -> DataFrame:
    """The windows alerting decides on: per equipment, the trailing window (the one
    ending within a slide after its newest reading) and older ones. Newer windows
    cover only the last few minutes: their average would be a noisy partial one, so
    they are decided on in a later batch, once the equipment's readings have moved
    past them. (The newest reading lies in [newest window start, + slide).)
    Filtered in Spark: of a batch's window/slide windows per equipment, only the
    decisive few travel to the driver."""
    newest_start = F.max("window_start").over(Window.partitionBy("equipment_id"))
    return (windows.withColumn("_newest_start", newest_start)
            .where(F.col("window_end")
                   <= F.col("_newest_start") + F.expr(f"INTERVAL {slide_s} SECONDS"))
            .drop("_newest_start"))


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
