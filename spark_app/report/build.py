"""Gather the report's aggregates (the database, then Cassandra through Spark) and
write the page; the file is replaced whole, so a reader never sees half of it."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from spark_app.common.config import Config
from spark_app.report import relational
from spark_app.report.page import ReportData, render
from spark_app.report.relational import Period
from spark_app.report.settings import ReportSettings, StreamDefaults

LISTED_PER_SERIAL = 50  # open violations listed under each top serial
EPISODES_SHOWN = 200


class NoRunYet(Exception):
    """No --day given and the daily job never ran: there is no default day."""


def gather(config: Config, day: date | None, days: int) -> ReportData:
    from sqlalchemy import select

    from schemas.relational import TemperatureThreshold
    from spark_app.common.relational import engine_from_config

    top = config.settings(ReportSettings).top
    with engine_from_config(config).connect() as connection:
        day = day or relational.latest_run_day(connection)
        if day is None:
            raise NoRunYet("the daily job has not run yet: give the report's last day "
                           "with --day YYYY-MM-DD")
        period = Period.ending(day, days)
        serials = relational.top_open_serials(connection, period, top)
        sql_parts = dict(
            violations_per_day=relational.violations_per_day(connection, period),
            top_rules=relational.top_rules(connection, period, top),
            states_per_site_model=relational.states_per_site_model(connection, period),
            top_open_serials=serials,
            open_violations=relational.open_violations_of(
                connection, period, [row["serial_number"] for row in serials],
                LISTED_PER_SERIAL),
            runs=relational.daily_runs(connection, period),
            breach_episodes=relational.breach_episodes(connection, period, EPISODES_SHOWN))
        # One row per equipment or model given its own threshold: configuration, not data.
        thresholds = [tuple(row) for row in connection.execute(select(
            TemperatureThreshold.equipment_id, TemperatureThreshold.model,
            TemperatureThreshold.threshold_c))]
    return ReportData(period=period, **sql_parts,
                      **_cassandra_parts(config, period, thresholds, top))


def _cassandra_parts(config: Config, period: Period, thresholds: list[tuple],
                     top: int) -> dict:
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    from spark_app.common.cassandra_read import read_table
    from spark_app.common.spark_session import build_spark_session
    from spark_app.report import cassandra

    spark = build_spark_session(config, app_name="fleetwatch-report")
    spark.sparkContext.setJobGroup("fleetwatch-report",
                                   f"fleetwatch report {period.first} … {period.last}")
    rejects = read_table(spark, config, "ingest_rejects")
    threshold_rows = spark.createDataFrame(thresholds, StructType([
        StructField("equipment_id", StringType()), StructField("model", StringType()),
        StructField("threshold_c", DoubleType())]))
    default_threshold_c = config.settings(StreamDefaults).default_threshold_c
    return dict(
        rejects_per_day=cassandra.rejects_per_day(rejects, period),
        rejects_by_reason=cassandra.rejects_by_reason(rejects, period, top),
        window_averages=cassandra.window_averages(
            read_table(spark, config, "temperature_windows"), threshold_rows,
            default_threshold_c, top))


def write_page(data: ReportData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(render(data), encoding="utf-8")
    os.replace(partial, path)
    return path
