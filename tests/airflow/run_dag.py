"""Run by .venv-airflow's Python (not collected by pytest): DagBag import
errors, or `dag.test()` of one DAG at a logical date; prints one JSON line."""

import json
import os
import sys
from datetime import datetime


def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def main(argv: list[str]) -> int:
    bag = dag_bag()
    if argv[0] == "--import-errors":
        print(json.dumps({path: str(error) for path, error in bag.import_errors.items()}))
        return 0
    dag_id, logical_date = argv
    dag = bag.get_dag(dag_id)
    for task in dag.tasks:  # a failing task fails the test now, not after its retry delays
        task.retries = 0
    run = dag.test(logical_date=datetime.fromisoformat(logical_date))
    tasks = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print(json.dumps({"state": str(run.state), "tasks": tasks}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
