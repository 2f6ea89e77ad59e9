"""Run by .venv-airflow's Python (not collected by pytest); prints one JSON line:
- `--import-errors`: the DagBag's import errors;
- `--schedule DAG_ID N`: the first N runs the scheduler would create from the
  DAG's start (its serialized timetable, as the scheduler holds it), each with
  the `application_args` of its `run_daily_job` rendered for that run;
- `DAG_ID DUE`: `dag.test()` of the run triggered at DUE, as a run triggered
  by hand then: its data interval is the last whole one before DUE."""

import json
import os
import sys
from datetime import datetime
from types import SimpleNamespace


def dag_bag():
    """The DAG folder parsed as the dag-processor and the workers do: as a bundle,
    whose folder is on sys.path (the DAG files import dags/fleetwatch_tasks.py)."""
    from pathlib import Path

    from airflow.dag_processing.dagbag import BundleDagBag

    folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    return BundleDagBag(dag_folder=folder, bundle_path=Path(folder))


def scheduled_runs(dag, count: int) -> list[dict]:
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    submit = dag.get_task("run_daily_job")
    runs, info = [], None
    for _ in range(count):
        info = serialized.next_dagrun_info(last_automated_run_info=info)
        run = SimpleNamespace(run_after=info.run_after, logical_date=info.logical_date,
                              data_interval_start=info.data_interval.start,
                              data_interval_end=info.data_interval.end)
        context = {"dag": dag, "dag_run": run, "logical_date": info.logical_date,
                   "ds": info.logical_date.date().isoformat(),
                   "data_interval_start": info.data_interval.start,
                   "data_interval_end": info.data_interval.end}
        runs.append({"run_after": info.run_after.isoformat(),
                     "data_interval": [info.data_interval.start.isoformat(),
                                       info.data_interval.end.isoformat()],
                     "application_args": submit.render_template(
                         submit.application_args, context, dag.get_template_env())})
    return runs


def main(argv: list[str]) -> int:
    bag = dag_bag()
    if argv[0] == "--import-errors":
        print(json.dumps({path: str(error) for path, error in bag.import_errors.items()}))
        return 0
    if argv[0] == "--schedule":
        print(json.dumps(scheduled_runs(bag.get_dag(argv[1]), int(argv[2]))))
        return 0
    dag_id, due = argv
    dag = bag.get_dag(dag_id)
    for task in dag.tasks:  # a failing task fails the test now, not after its retry delays
        task.retries = 0
    due_at = datetime.fromisoformat(due)
    run = dag.test(run_after=due_at, logical_date=due_at)
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(json.dumps({"state": str(run.state), "tasks": tasks,
                      "data_interval": [run.data_interval_start.isoformat(),
                                        run.data_interval_end.isoformat()]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
