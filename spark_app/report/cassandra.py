"""The report's aggregates over Cassandra tables, as Spark aggregates: what the
driver collects is bounded by days, reasons and the `top` asked for, never by
the number of rejects or windows."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark_app.report.relational import Period

# A reject's reason quotes the bad value ("ts is not an ISO 8601 timestamp: 'x'",
# "… must be at most 65535, got 70000"): its kind is the text before the quote,
# with the numbers and instants it names replaced, so reasons of one kind add up.
_NUMBER_OR_INSTANT = r"[0-9][0-9:T.+\-Z]*"


def reason_kind(reason: Column) -> Column:
    before_value = F.regexp_replace(F.split(reason, ": ").getItem(0), ", got .*$", "")
    return F.regexp_replace(before_value, _NUMBER_OR_INSTANT, "N")


def _in_period(column: Column, period: Period) -> Column:
    return (column >= F.lit(period.start)) & (column < F.lit(period.end))


def rejects_per_day(rejects: DataFrame, period: Period) -> list[dict]:
    """[{day, rejects}] of ingest_rejects by the day each record was refused."""
    rows = (rejects.where(_in_period(F.col("rejected_at"), period))
            .groupBy(F.to_date("rejected_at").alias("day"))
            .agg(F.count(F.lit(1)).alias("rejects"))
            .orderBy("day").collect())
    return [{"day": row.day, "rejects": row.rejects} for row in rows]


def rejects_by_reason(rejects: DataFrame, period: Period, top: int) -> list[dict]:
    """[{reason, rejects}]: the commonest kinds of reason in the period, most first."""
    rows = (rejects.where(_in_period(F.col("rejected_at"), period))
            .groupBy(reason_kind(F.col("reason")).alias("reason"))
            .agg(F.count(F.lit(1)).alias("rejects"))
            .orderBy(F.desc("rejects"), "reason").limit(top).collect())
    return [{"reason": row.reason, "rejects": row.rejects} for row in rows]


def window_averages(windows: DataFrame, thresholds: DataFrame, default_threshold_c: float,
                    top: int) -> list[dict]:
    """Hourly average (and max) of the window averages of the `top` equipment that came
    closest to (or furthest past) their threshold, each with that threshold:
    [{equipment_id, hour, avg_c, max_c, threshold_c}], hour an ISO 8601 UTC instant.

    `thresholds` is temperature_thresholds (equipment_id, model, threshold_c): the
    equipment's own row wins over its model's, then the default (as in the stream)."""
    own = thresholds.where(F.col("equipment_id").isNotNull()).select(
        "equipment_id", F.col("threshold_c").alias("own_c"))
    per_model = thresholds.where(F.col("model").isNotNull()).select(
        "model", F.col("threshold_c").alias("model_c"))
    resolved = (windows.join(F.broadcast(own), "equipment_id", "left")
                .join(F.broadcast(per_model), "model", "left")
                .withColumn("threshold_c", F.coalesce("own_c", "model_c",
                                                      F.lit(float(default_threshold_c)))))
    margin = Window.partitionBy("equipment_id")
    hourly = (resolved
              .groupBy("equipment_id", F.date_trunc("hour", "window_start").alias("hour"))
              .agg(F.avg("avg_c").alias("avg_c"), F.max("max_c").alias("max_c"),
                   F.max(F.col("avg_c") - F.col("threshold_c")).alias("margin_c"),
                   F.first("threshold_c").alias("threshold_c"))
              .withColumn("equipment_margin_c", F.max("margin_c").over(margin)))
    ranked = (hourly.select("equipment_id", "equipment_margin_c").distinct()
              .orderBy(F.desc("equipment_margin_c"), "equipment_id").limit(top))
    rows = (hourly.join(F.broadcast(ranked.select("equipment_id")), "equipment_id")
            .select("equipment_id",
                    F.date_format("hour", "yyyy-MM-dd'T'HH:mm:ss'Z'").alias("hour"),
                    F.round("avg_c", 2).alias("avg_c"), F.round("max_c", 2).alias("max_c"),
                    "threshold_c")
            .orderBy("equipment_id", "hour").collect())
    return [row.asDict() for row in rows]
