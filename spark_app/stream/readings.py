"""Temperature readings from raw text lines, with Spark builtins only.

A line is a JSON object {"equipment_id", "ts", "temperature_c", "model"?} or CSV
`equipment_id,ts,temperature_c[,model]` (a header line starting with
`equipment_id,` and blank lines are skipped). Every line becomes one row: a
reading, or a rejected line with the first reason that applies. Nothing is
dropped without a trace.

Input columns (see spark_app.stream.sources): value, source, position, received_at.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from schemas.spark import READING_FIELDS, READING_TEXT

CORRUPT = "_corrupt_record"
_JSON_SCHEMA = StructType([*READING_TEXT.fields, StructField(CORRUPT, StringType(), True)])
_JSON_OPTIONS = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT}

# The reasons a line is rejected, in the order they are checked.
NOT_JSON = "not a JSON object"
CSV_FIELDS = "CSV needs 3 or 4 fields: equipment_id,ts,temperature_c[,model]"
NO_EQUIPMENT = "missing equipment_id"
BAD_TS = "missing or unreadable ts (ISO 8601 expected)"
NOT_A_NUMBER = "temperature_c missing or not a number"
IMPOSSIBLE = "temperature_c outside the physically possible range"
FROM_THE_FUTURE = "ts ahead of the reading's arrival"


@dataclass(frozen=True)
class ReadingRules:
    min_valid_c: float = -60.0
    max_valid_c: float = 400.0
    max_clock_ahead_s: int = 300


def parse_readings(lines: DataFrame, rules: ReadingRules) -> DataFrame:
    """lines (value, source, position, received_at) -> one row per non-blank line:
    equipment_id, ts, temperature_c, model, reject_reason (null for a good reading),
    payload (the line), source, position, received_at."""
    line = F.trim(F.col("value"))
    kept = lines.where((line != "") & ~line.startswith("equipment_id,"))
    is_json = line.startswith("{")
    parsed = kept.select(
        F.col("value").alias("payload"), "source", "position", "received_at",
        is_json.alias("is_json"),
        F.when(is_json, F.from_json(F.col("value"), _JSON_SCHEMA, _JSON_OPTIONS))
         .alias("json"),
        F.when(~is_json, F.split(F.col("value"), ",")).alias("csv"),
    )
    fields = {name: _field(name, index) for index, name in enumerate(READING_FIELDS)}
    texts = parsed.select(
        "payload", "source", "position", "received_at", "is_json",
        F.when(F.col("is_json"), F.col(f"json.{CORRUPT}").isNull())
         .otherwise(F.size("csv").between(3, 4)).alias("well_formed"),
        *(column.alias(name) for name, column in fields.items()),
    )
    typed = texts.select(
        "*",
        F.try_to_timestamp(F.col("ts")).alias("ts_parsed"),
        F.expr("try_cast(temperature_c AS DOUBLE)").alias("temperature_parsed"),
    )
    # A one-row generator as a fence: filters on the reject reason (which reads every
    # field, the time and the temperature several times) stay above it and read them
    # as computed once. Without it, predicate pushdown copies the JSON parse into the
    # filter once per field it reads, and the time's parse once per mention.
    typed = typed.select(F.inline(F.array(F.struct(*typed.columns))))
    reason = _first_reason(rules)
    return typed.select(
        F.col("equipment_id"),
        F.col("ts_parsed").alias("ts"),
        F.col("temperature_parsed").alias("temperature_c"),
        F.when(F.col("model") != "", F.col("model")).alias("model"),
        reason.alias("reject_reason"),
        "payload", "source", "position", "received_at",
    )


def _field(name: str, index: int) -> Column:
    text = F.when(F.col("is_json"), F.col(f"json.{name}")).otherwise(F.get(F.col("csv"), index))
    return F.trim(text)


def _first_reason(rules: ReadingRules) -> Column:
    temperature = F.col("temperature_parsed")
    ahead_limit = F.col("received_at") + F.expr(f"INTERVAL {rules.max_clock_ahead_s} SECONDS")
    return (
        F.when(~F.col("well_formed"), F.when(F.col("is_json"), NOT_JSON).otherwise(CSV_FIELDS))
         .when(F.col("equipment_id").isNull() | (F.col("equipment_id") == ""), NO_EQUIPMENT)
         .when(F.col("ts_parsed").isNull(), BAD_TS)
         .when(temperature.isNull(), NOT_A_NUMBER)
         .when((temperature < rules.min_valid_c) | (temperature > rules.max_valid_c)
               | F.isnan(temperature), IMPOSSIBLE)
         .when(F.col("received_at").isNotNull() & (F.col("ts_parsed") > ahead_limit),
               FROM_THE_FUTURE)
    )


def valid_readings(parsed: DataFrame) -> DataFrame:
    return parsed.where(F.col("reject_reason").isNull()).select(
        "equipment_id", "ts", "temperature_c", "model")


def rejected_lines(parsed: DataFrame) -> DataFrame:
    return parsed.where(F.col("reject_reason").isNotNull()).select(
        "source", "position", "received_at", F.col("reject_reason").alias("reason"), "payload")
