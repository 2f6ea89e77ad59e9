"""Is the platform well? Missing or failed daily runs, silent feeds, failed Airflow tasks, each told once to operations.
Imports `spark_app.common`, `spark_app.ingest` (feed cursors) and `spark_app.alerts` (the outbox, SMTP)."""
