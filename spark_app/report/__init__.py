"""The fleet report: one self-contained HTML page of charts over a period (`fleetwatch report`).
May import common/ only; aggregates run where the data lives (SQL, Spark)."""
