"""Simulators for demos, tests and benchmarks: seeded fault telemetry, a paged XML feed served on loopback, and
engine temperatures. Imports `spark_app.common` and the record formats of `spark_app.ingest`."""
