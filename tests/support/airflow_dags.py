"""Running the DAGs for real: Airflow 3 in its own virtualenv (.venv-airflow),
SQLite metadata in a temporary AIRFLOW_HOME, `airflow db migrate`, then
DagBag, the scheduler's view of a DAG's timetable and `dag.test()` in that
virtualenv's Python (tests/airflow/run_dag.py), or a whole deployment
(api-server, scheduler, dag-processor) running the DAGs on their schedule."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import sqlite3
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from spark_app.services import airflow
from spark_app.services.airflow import airflow_env
from spark_app.services.process import free_port

PROJECT = Path(__file__).resolve().parents[2]
AIRFLOW_PYTHON = PROJECT / ".venv-airflow" / "bin" / "python"
RUNNER = PROJECT / "tests" / "airflow" / "run_dag.py"
TASKS = PROJECT / "dags" / "fleetwatch_tasks.py"


@functools.cache
def fleetwatch_tasks():
    """dags/fleetwatch_tasks.py as a module: Airflow imports it from the DAG folder,
    which is on Airflow's sys.path but not on the tests'."""
    spec = importlib.util.spec_from_file_location("fleetwatch_tasks", TASKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class AirflowHome:
    def __init__(self, home: Path, connections: dict[str, dict] | None = None,
                 extra_env: dict[str, str] | None = None):
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        self.env = airflow_env(home, connections, extra_env)
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

    def scheduled_runs(self, dag_id: str, count: int) -> list[dict]:
        """The first `count` runs the scheduler would create, with the rendered
        application_args of their run_daily_job."""
        result = self._run([str(AIRFLOW_PYTHON), str(RUNNER), "--schedule", dag_id, str(count)],
                           timeout=300)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def test_dag(self, dag_id: str, due: str) -> dict:
        """dag.test() of the run triggered at `due` (ISO instant); returns {"state": …,
        "tasks": {task_id: state}, "data_interval": [start, end]}."""
        result = self._run([str(AIRFLOW_PYTHON), str(RUNNER), dag_id, due],
                           timeout=1800)
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        outcome["log"] = result.stdout[-6000:] + result.stderr[-6000:]
        return outcome


def _utc(stored: str) -> datetime:
    """An instant as Airflow stores it in SQLite: naive, in UTC."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


class AirflowDeployment(airflow.AirflowDeployment):
    """The deployment of `make airflow-up` (spark_app/services/airflow.py) on a
    test's AirflowHome, without the UI: api-server (the execution API that
    LocalExecutor workers report to), scheduler and dag-processor, each a
    process group of its own so that stop() ends it with every task and
    spark-submit it started."""

    def __init__(self, home: AirflowHome):
        super().__init__(home.home, home.env, free_port(), home.home / "logs", ui=False)

    def runs(self, dag_id: str) -> list[dict]:
        """The DAG's runs and their task states, from the metadata database."""
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db")) as db:
            runs = db.execute("SELECT run_id, run_type, state, data_interval_start, "
                              "data_interval_end FROM dag_run WHERE dag_id = ? "
                              "ORDER BY data_interval_start", (dag_id,)).fetchall()
            tasks = db.execute("SELECT run_id, task_id, state FROM task_instance "
                               "WHERE dag_id = ?", (dag_id,)).fetchall()
        return [{"run_id": run_id, "run_type": run_type, "state": state,
                 "data_interval": [_utc(start).isoformat(), _utc(end).isoformat()],
                 "tasks": {task: task_state for run, task, task_state in tasks if run == run_id}}
                for run_id, run_type, state, start, end in runs]

    def next_run_created_after(self, dag_id: str) -> datetime | None:
        """When the scheduler will create the DAG's next run (None while it is
        at max_active_runs, or before it has looked at the DAG)."""
        with contextlib.closing(sqlite3.connect(self.home / "airflow.db")) as db:
            [(created_after,)] = db.execute(
                "SELECT next_dagrun_create_after FROM dag WHERE dag_id = ?", (dag_id,))
        return _utc(created_after) if created_after else None

    def wait_until_caught_up(self, dag_id: str, timeout_s: float) -> list[dict]:
        """Wait until every run due has been created and is over: the next one is
        for the future. A task failing or waiting for a retry ends the wait at
        once (the DAG retries after minutes)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_components()
            runs = self.runs(dag_id)
            troubled = [run for run in runs
                        if {"failed", "up_for_retry"} & set(run["tasks"].values())]
            if troubled:
                raise AssertionError(f"tasks failed: {troubled}\n{self.logs()}")
            next_created = self.next_run_created_after(dag_id)
            if runs and all(run["state"] in ("success", "failed") for run in runs) \
                    and next_created is not None and next_created > datetime.now(UTC):
                return runs
            time.sleep(5)
        raise AssertionError(f"runs after {timeout_s:.0f} s: {self.runs(dag_id)}\n{self.logs()}")

    def wait_until_done(self, dag_id: str, timeout_s: float) -> list[dict]:
        """Wait until the DAG has runs and all are over (retries included)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_components()
            runs = self.runs(dag_id)
            if runs and all(run["state"] in ("success", "failed") for run in runs):
                return runs
            time.sleep(5)
        raise AssertionError(f"runs after {timeout_s:.0f} s: {self.runs(dag_id)}\n{self.logs()}")

    def _check_components(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited {process.returncode}\n{self.logs()}")

    def task_logs(self, dag_id: str, task_id: str) -> str:
        """Every attempt's log of a task, in all the DAG's runs."""
        return "\n".join(path.read_text(errors="replace") for path in sorted(
            self.log_dir.glob(f"dag_id={dag_id}/run_id=*/task_id={task_id}/*.log")))

    def logs(self) -> str:
        """The tails of the components' logs and of every task log."""
        paths = sorted(self.log_dir.rglob("*.log"))
        return "\n".join(f"--- {path}\n{path.read_text(errors='replace')[-3000:]}"
                         for path in paths if path.exists())
