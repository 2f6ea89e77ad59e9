"""The live temperature watch: readings from files or Kafka, event-time windows into Cassandra, breaches handed
to `spark_app.alerts`. Imports `spark_app.common`, `spark_app.alerts`, `schemas/`."""
