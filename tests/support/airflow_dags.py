"""Running the DAGs for real: Airflow 3 in its own virtualenv (.venv-airflow),
SQLite metadata in a temporary AIRFLOW_HOME, `airflow db migrate`, then
DagBag and `dag.test()` in that virtualenv's Python (tests/airflow/run_dag.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = PROJECT / ".venv-airflow" / "bin" / "python"
RUNNER = PROJECT / "tests" / "airflow" / "run_dag.py"


class AirflowHome:
    def __init__(self, home: Path, connections: dict[str, dict] | None = None,
                 extra_env: dict[str, str] | None = None):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "FLEETWATCH_HOME": str(PROJECT),
            **{f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(spec)
               for conn_id, spec in (connections or {}).items()},
            **(extra_env or {}),
        }
        self.env.pop("PYTHONPATH", None)
        self._run([str(AIRFLOW_PYTHON), "-m", "airflow", "db", "migrate"], timeout=600)

    def _run(self, command: list[str], timeout: int) -> subprocess.CompletedProcess:
        result = subprocess.run(command, capture_output=True, text=True, env=self.env,
                                timeout=timeout, cwd=self.home)
        if result.returncode != 0:
            raise AssertionError(f"{command[2:]} exited {result.returncode}:\n"
                                 f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
        return result

    def import_errors(self) -> dict[str, str]:
        result = self._run([str(AIRFLOW_PYTHON), str(RUNNER), "--import-errors"], timeout=300)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def test_dag(self, dag_id: str, logical_date: str) -> dict:
        """dag.test() of one run; returns {"state": …, "tasks": {task_id: state}}."""
        result = self._run([str(AIRFLOW_PYTHON), str(RUNNER), dag_id, logical_date],
                           timeout=1800)
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        outcome["log"] = result.stdout[-6000:] + result.stderr[-6000:]
        return outcome
