"""Spark schemas of the Cassandra tables and of the inputs. pyspark is imported
here only for its type classes; no session is created."""

from pyspark.sql.types import (DateType, DoubleType, IntegerType, LongType, StringType,
                               StructField, StructType, TimestampType)


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
    ("rule_id", LongType(), False),
    ("serial_number", StringType(), False),
    ("ts", TimestampType(), False),
    ("tag", StringType(), False),
    ("received_day", DateType(), True),
)

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

# Cassandra table name -> its Spark schema (a test checks them against the live tables).
CASSANDRA_TABLES = {
    "faults": FAULTS,
    "pending_faults": PENDING_FAULTS,
    "rejected_messages": REJECTED_MESSAGES,
    "temperature_windows": TEMPERATURE_WINDOWS,
}
