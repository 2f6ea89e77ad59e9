"""Spark schemas of the Cassandra tables, of the inputs and of the daily job's
frames. pyspark is imported here only for its type classes; no session is created."""

from pyspark.sql.types import (
    BinaryType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)


def _struct(*fields: tuple[str, object, bool]) -> StructType:
    return StructType([StructField(name, kind, nullable) for name, kind, nullable in fields])


FAULTS = _struct(
    ("day", DateType(), False),
    ("shard", IntegerType(), False),
    ("model", StringType(), False),
    ("tag", StringType(), False),
    ("serial_number", StringType(), False),
    ("ts", TimestampType(), False),
    ("received_at", TimestampType(), True),
)

PENDING_FAULTS = _struct(
    ("as_of", DateType(), False),
    ("shard", IntegerType(), False),
    ("block", IntegerType(), False),
    ("faults", IntegerType(), True),
    ("payload", BinaryType(), True),
)

INGEST_REJECTS = _struct(
    ("source", StringType(), False),
    ("position", IntegerType(), False),
    ("reason", StringType(), True),
    ("payload", StringType(), True),
    ("rejected_at", TimestampType(), True),
)

# Legacy: read only by spark_app.common.migration_steps (migration 12).
REJECTED_MESSAGES = _struct(
    ("day", DateType(), False),
    ("id", StringType(), False),
    ("source", StringType(), True),
    ("reason", StringType(), True),
    ("payload", StringType(), True),
)

TEMPERATURE_WINDOWS = _struct(
    ("equipment_id", StringType(), False),
    ("window_start", TimestampType(), False),
    ("window_end", TimestampType(), False),
    ("model", StringType(), True),
    ("avg_c", DoubleType(), True),
    ("max_c", DoubleType(), True),
    ("readings", LongType(), True),
)

# A temperature reading as it arrives (a JSON object or CSV fields): every field is read
# as text first, so a wrong value is rejected with its reason instead of becoming null.
READING_FIELDS = ("equipment_id", "ts", "temperature_c", "model")
READING_TEXT = _struct(*((name, StringType(), True) for name in READING_FIELDS))

# A valid reading.
READING = _struct(
    ("equipment_id", StringType(), False),
    ("ts", TimestampType(), False),
    ("temperature_c", DoubleType(), False),
    ("model", StringType(), True),
)

TEMPERATURE_ALERTS = _struct(
    ("equipment_id", StringType(), False),
    ("alerting", BooleanType(), True),
    ("model", StringType(), True),
    ("threshold_c", DoubleType(), True),
    ("breach_started", TimestampType(), True),
    ("last_notified", TimestampType(), True),
    ("last_window_end", TimestampType(), True),
    ("last_avg_c", DoubleType(), True),
    ("notices", LongType(), True),
    ("updated_at", TimestampType(), True),
    ("pending_since", TimestampType(), True),
    ("breach_peak_c", DoubleType(), True),
    ("breach_emails", LongType(), True),
    ("breach_silenced", BooleanType(), True),
)

MAIL_OUTBOX = _struct(
    ("message_id", StringType(), False),
    ("queued_for", TimestampType(), True),
    ("equipment_id", StringType(), True),
    ("kind", StringType(), True),
    ("subject", StringType(), True),
    ("message", StringType(), True),
    ("attempts", IntegerType(), True),
    ("last_error", StringType(), True),
    ("sent_at", TimestampType(), True),
)

MAIL_PENDING = _struct(
    ("queue", StringType(), False),
    ("queued_for", TimestampType(), False),
    ("message_id", StringType(), False),
)

REJECTED_READINGS = _struct(
    ("day", DateType(), False),
    ("source", StringType(), False),
    ("record_key", StringType(), False),
    ("received_at", TimestampType(), True),
    ("reason", StringType(), True),
    ("payload", StringType(), True),
)

STREAM_METRICS = _struct(
    ("query_name", StringType(), False),
    ("day", DateType(), False),
    ("batch_ts", TimestampType(), False),
    ("run_id", StringType(), False),
    ("batch_id", LongType(), False),
    ("input_rows", LongType(), True),
    ("readings_valid", LongType(), True),
    ("readings_rejected", LongType(), True),
    ("rows_dropped_by_watermark", LongType(), True),
    ("watermark", TimestampType(), True),
    ("duration_ms", LongType(), True),
)

PENDING_GENERATIONS = _struct(
    ("as_of", DateType(), False),
    ("rule_fingerprints", MapType(LongType(), StringType()), True),
    ("faults", LongType(), True),
    ("written_at", TimestampType(), True),
)

FEED_CURSOR = _struct(
    ("feed", StringType(), False),
    ("next_url", StringType(), True),
    ("updated_at", TimestampType(), True),
)

# Cassandra table name -> its Spark schema (a test checks them against the live tables).
CASSANDRA_TABLES = {
    "faults": FAULTS,
    "pending_faults": PENDING_FAULTS,
    "ingest_rejects": INGEST_REJECTS,
    "rejected_messages": REJECTED_MESSAGES,
    "temperature_windows": TEMPERATURE_WINDOWS,
    "temperature_alerts": TEMPERATURE_ALERTS,
    "mail_outbox": MAIL_OUTBOX,
    "mail_pending": MAIL_PENDING,
    "rejected_readings": REJECTED_READINGS,
    "stream_metrics": STREAM_METRICS,
    "feed_cursor": FEED_CURSOR,
    "pending_generations": PENDING_GENERATIONS,
}

# --- the daily job's frames ---------------------------------------------------

# The (model, tag) pairs some rule mentions, broadcast to the semi-join.
RULE_TAGS = _struct(("model", StringType(), False), ("tag", StringType(), False))

# One row per rule-relevant fault; `scope` tells which rules it counts for
# (spark_app.daily.evaluate: 0 for the day's faults, -k for faults of D-k read
# again; the tasks add k for generation D-k), `shard` where its serial lives.
EVALUATION_INPUT = _struct(
    ("serial_number", StringType(), False),
    ("model", StringType(), False),
    ("tag", StringType(), False),
    ("ts", TimestampType(), False),
    ("scope", IntegerType(), False),
    ("shard", IntegerType(), False),
)

# A violation as the evaluation finds it: the relational `violations` key, the
# rule version that found it and its evidence (rules.witness).
VIOLATION = _struct(
    ("rule_id", LongType(), True),
    ("serial_number", StringType(), True),
    ("ts", TimestampType(), True),
    ("rule_version", IntegerType(), True),
    ("evidence", StringType(), True),
)

# The parts of a shard's evaluation whose seconds SHARD_OUTCOME reports, in
# the order they run: fetching and decoding its pending blocks, sorting,
# evaluating (fan-out, rules, tti), storing its violations (waiting for the
# database included), packing and writing its blocks of the next generation.
SHARD_PARTS = ("pending", "sort", "evaluate", "store_violations", "store_blocks")

# What the evaluation of one shard did, one row per shard (the job's only
# collect: as many rows as there are shards).
SHARD_OUTCOME = _struct(
    ("shard", IntegerType(), False),
    ("found", LongType(), False),
    ("new", LongType(), False),
    ("pending_read", LongType(), False),
    ("pending_written", LongType(), False),
    *((f"{part}_s", DoubleType(), False) for part in SHARD_PARTS),
)
