"""A small fleet for the people tests: two sites, two teams, rules of three
severities, violations of received day 2016-11-16 stored by the daily job's
own insert path (upsert_violations), credited to a run of that day."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import insert

from schemas.relational import JobRun
from spark_app.daily.violation_sink import upsert_violations

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]
DAY = date(2016, 11, 16)
EQUIPMENT_CSV = """serial_number,model,site,team,commissioned_on
JAP001,JAP,north,hydraulics,2015-03-01
JAP002,JAP,south,engines,
KOM001,KOM,north,engines,2014-07-15
"""
# (model, severity, action, expression): ids 1, 2, 3 in this order
RULES = [("JAP", "critical", "Stop the machine and call the hydraulics technician",
          "#1.100.000.001 tti:30"),
         ("JAP", "warning", "Check the filter at the next service", "#1.100.000.002 tti:30"),
         ("KOM", "info", None, "#1.100.000.003 tti:30")]
# (rule_id, serial, instant) of received day DAY
VIOLATIONS = [
    (1, "JAP001", datetime(2016, 11, 16, 10, 0)), (1, "JAP001", datetime(2016, 11, 16, 10, 5)),
    (2, "JAP001", datetime(2016, 11, 16, 11, 0)),
    (1, "JAP002", datetime(2016, 11, 16, 12, 0)), (2, "JAP002", datetime(2016, 11, 16, 12, 30)),
    (3, "KOM001", datetime(2016, 11, 16, 13, 0)),
    (3, "KOM999", datetime(2016, 11, 16, 14, 0)),  # not in the registry
]
# received the day before: in the chart, not in the digest
EARLIER = [(2, "JAP001", datetime(2016, 11, 15, 9, 0))]


def fleetwatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def store_run(engine, run_id: str, day: date, violations) -> None:
    """A succeeded run of `day` and its violations, as the daily job stores them."""
    with engine.begin() as connection:
        connection.execute(insert(JobRun), {
            "run_id": run_id, "day": day, "started_at": datetime.combine(day, datetime.min.time()),
            "finished_at": datetime.combine(day, datetime.min.time()), "status": "succeeded"})
    frame = pd.DataFrame(violations, columns=["rule_id", "serial_number", "ts"])
    upsert_violations(engine, [frame], datetime(2016, 11, 17, 0, 31), run_id, 1000)


def make_fleet(env: dict[str, str], engine, tmp_path: Path) -> None:
    registry = tmp_path / "equipment.csv"
    registry.write_text(EQUIPMENT_CSV)
    assert fleetwatch(env, "equipment", "import", str(registry)).returncode == 0
    for model, severity, action, expression in RULES:
        args = ["rules", "add", "--model", model, "--severity", severity, expression]
        if action:
            args[4:4] = ["--action", action]
        result = fleetwatch(env, *args)
        assert result.returncode == 0, result.stderr
    store_run(engine, "run-15", date(2016, 11, 15), EARLIER)
    store_run(engine, "run-16", DAY, VIOLATIONS)
