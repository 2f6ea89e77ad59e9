"""Run the daily job at 00:30 UTC for the received day that has just ended (fleetwatch_daily)."""

import os
from datetime import timedelta

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, task
from fleetwatch_tasks import (
    daily_start,
    day_ingested,
    day_report,
    day_run_succeeded,
    notify_failure,
    notify_retry,
    received_day,
    run_fleetwatch,
    spark_env,
    spark_submit_arguments,
)

DOC = """
### fleetwatch_daily

The run due at D+1 00:30 UTC processes received day D, the day that has
ended: its data interval is D 00:30 → D+1 00:30 and every task takes the day
from `received_day(dag_run)`, never from `ds` or the clock.

1. `wait_for_ingestion` — every feed has been pulled after day D ended;
2. `run_daily_job` — `spark-submit spark_app/daily/entry.py --day D` on the
   Spark connection `fleetwatch_spark` (its host is the master: `local[*]`,
   `spark://…`, `yarn`);
3. `check_run` — day D's latest run in `job_runs` succeeded;
4. `report` — `fleetwatch report --day D`: the fleet report of the 30 days
   ending on D, written to `<report.dir>/D.html` (default `var/reports/`).
5. `notify` — `fleetwatch notify --day D`: each route's digest of day D, once
   (a retry never sends one already sent; days older than notify.max_age_days
   are skipped, so a catchup does not flood anyone); the digest links to the
   day's report when report.base_url is set.

A failed or retried task e-mails operations once per try; a day whose run
is missing or failed is told by the ingest DAG's `health` task.

`FLEETWATCH_DAILY_START` (ISO date in the dag-processor's environment) is the
first received day to process: at first unpause every day from it to
yesterday runs, one at a time and in order, and days missed while the
scheduler was down are caught up. Unset, catchup is off: the first unpause
runs yesterday only, and a missed day needs `airflow backfill create`.
Every step is rerun-safe (the job upserts violations and rebuilds missing
pending generations), so retries, reruns and backfills are harmless.
"""

first_day = daily_start(os.environ.get("FLEETWATCH_DAILY_START"))

with DAG(
    dag_id="fleetwatch_daily",
    # Data intervals, not Airflow 3's default trigger timetable for a cron
    # string, whose run at D+1 00:30 would stand for D+1.
    schedule=CronDataIntervalTimetable("30 0 * * *", timezone="UTC"),
    start_date=first_day,
    catchup=first_day is not None,
    max_active_runs=1,  # days in order: each day's pending faults feed the next
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10),
                  # one e-mail to operations per failed try (fleetwatch notify-task)
                  "on_failure_callback": notify_failure, "on_retry_callback": notify_retry},
    render_template_as_native_obj=True,  # env_vars renders to a dict
    user_defined_macros={"fleetwatch_env": spark_env, "received_day": received_day},
    doc_md=DOC,
    tags=["fleetwatch", "daily", "spark"],
):

    @task.sensor(poke_interval=300, timeout=6 * 3600, mode="reschedule")
    def wait_for_ingestion(dag_run=None) -> bool:
        return day_ingested(received_day(dag_run))

    run_daily_job = SparkSubmitOperator(
        task_id="run_daily_job",
        conn_id="fleetwatch_spark",
        name="fleetwatch-daily-{{ received_day(dag_run).isoformat() }}",
        application_args=["--day", "{{ received_day(dag_run).isoformat() }}"],
        env_vars="{{ fleetwatch_env() }}",
        execution_timeout=timedelta(hours=4),
        **spark_submit_arguments(),
    )

    @task
    def check_run(dag_run=None) -> str:
        return day_run_succeeded(received_day(dag_run))

    @task
    def report(dag_run=None) -> str:
        return day_report(received_day(dag_run))

    @task
    def notify(dag_run=None) -> str:
        return run_fleetwatch("notify", "--day", received_day(dag_run).isoformat())

    wait_for_ingestion() >> run_daily_job >> check_run() >> report() >> notify()
