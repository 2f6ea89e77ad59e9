"""The daily job through spark-submit on a standalone cluster (a master and
two workers), not only local[*]."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from schemas.relational import JobRun, Rule
from spark_app.common import jars
from spark_app.common.relational import create_tables
from tests.support.daily_data import (
    RULES,
    expected_violations,
    make_faults,
    received_days,
    stored_violations,
    write_faults,
)
from tests.support.spark_cluster import spark_home, standalone_cluster

ENTRY = Path(__file__).resolve().parents[2] / "spark_app" / "daily" / "entry.py"


@pytest.mark.slow
def test_daily_job_by_spark_submit_on_a_standalone_cluster(tmp_path, cassandra, config):
    for table in ("faults", "pending_faults", "pending_generations"):
        cassandra.execute(f"TRUNCATE {table}")
    db_url = f"sqlite:///{tmp_path / 'cluster.db'}"
    engine = create_engine(db_url)
    create_tables(engine)
    names = ["pair", "nested", "other model"]
    with Session(engine) as session, session.begin():
        stored = {name: Rule(model=RULES[name][0], expression=RULES[name][1]) for name in names}
        session.add_all(stored.values())
        session.flush()
        ids = {name: rule.id for name, rule in stored.items()}
    faults = make_faults(seed=21, days=2, late=True)
    write_faults(cassandra, config, faults)
    days = received_days(faults)

    connector_jars = ",".join(str(path) for path in jars.jar_paths(config, "spark"))
    with standalone_cluster(tmp_path / "cluster") as master:
        result = subprocess.run(
            [str(spark_home() / "bin" / "spark-submit"), "--master", master,
             "--jars", connector_jars,
             "--conf", f"spark.pyspark.python={sys.executable}",
             "--conf", f"spark.pyspark.driver.python={sys.executable}",
             "--conf", "spark.executor.memory=512m", "--conf", "spark.cores.max=2",
             str(ENTRY), "--day", str(days[0]), "--to", str(days[-1])],
            capture_output=True, text=True, timeout=900,
            env={**os.environ, "FLEETWATCH_DATABASE_URL": db_url, "SPARK_LOCAL_IP": "127.0.0.1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert f"[{len(days)}/{len(days)}] {days[-1]}" in result.stdout
    # No terminal: the progress over the days is logged, a line after each day (on stdout:
    # spark-submit's PythonRunner merges the Python driver's stderr into its stdout)
    progress = [line for line in result.stdout.splitlines()
                if f" INFO spark_app.daily.main: daily {days[0]}..{days[-1]}: " in line]
    assert [line.split(": ", 2)[2].split(" [")[0] for line in progress] == \
        [f"{round(100 * n / len(days))}% {n}/{len(days)}" for n in range(1, len(days) + 1)]
    assert stored_violations(engine) == expected_violations(faults, ids, names)
    with Session(engine) as session:
        runs = session.query(JobRun).all()
    assert len(runs) == len(days) and {run.status for run in runs} == {"succeeded"}
    engine.dispose()
