"""The daily batch job: the day's faults matched against the rules (see job.py), its rule store and reports.
Imports `spark_app.common`, `rules/`, `schemas/`; no other box."""
