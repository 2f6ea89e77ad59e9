"""Shared test settings: tests use their own keyspace and database files, so
they never touch the demo's data."""

import os

os.environ.setdefault("FLEETWATCH_CASSANDRA_KEYSPACE", "fleetwatch_test")
os.environ.setdefault("FLEETWATCH_SPARK_SHUFFLE_PARTITIONS", "4")
