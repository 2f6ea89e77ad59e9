"""Telemetry into Cassandra `faults`: JSON-lines files and paged XML feeds, validated record by record, bad ones
kept in `rejected_messages` with their reason. Imports `spark_app.common`, `schemas/`; no other box."""
