"""Telling people: the temperature alert state machine, thresholds, the outbox and SMTP delivery.
Imports `spark_app.common` and `schemas/`; never Spark (it runs on the driver, on plain rows)."""
