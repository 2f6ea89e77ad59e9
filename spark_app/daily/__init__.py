"""The daily batch job: the day's faults matched against the rules (see job.py)."""
