"""Run the daily job for the data interval's day at 00:30 UTC (fleetwatch_daily)."""

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import DAG, task

from spark_app.airflow_tasks import spark_env, spark_submit_arguments

DOC = """
### fleetwatch_daily

At 00:30 UTC, for the day that just ended (the data interval's day, `{{ ds }}`):

1. `wait_for_ingestion` — every feed has been pulled after the day ended;
2. `run_daily_job` — `spark-submit spark_app/daily/entry.py --day {{ ds }}` on the
   Spark connection `fleetwatch_spark` (its host is the master: `local[*]`,
   `spark://…`, `yarn`);
3. `check_run` — the day's latest run in `job_runs` succeeded.

The first day is `FLEETWATCH_DAILY_START` (ISO date in the scheduler's
environment, default 2026-01-01). Catchup is on: backfills run the days in order, and every step is rerun-safe
(the job upserts violations and rebuilds missing pending generations), so
retries and reruns are harmless.
"""

with DAG(
    dag_id="fleetwatch_daily",
    schedule="30 0 * * *",
    start_date=datetime.fromisoformat(os.environ.get("FLEETWATCH_DAILY_START", "2026-01-01"))
    .replace(tzinfo=UTC),
    catchup=True,
    max_active_runs=1,  # days in order: each day's pending faults feed the next
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    render_template_as_native_obj=True,  # env_vars renders to a dict
    user_defined_macros={"fleetwatch_env": spark_env},
    doc_md=DOC,
    tags=["fleetwatch", "daily", "spark"],
):

    @task.sensor(poke_interval=300, timeout=6 * 3600, mode="reschedule")
    def wait_for_ingestion(data_interval_start=None) -> bool:
        from spark_app.airflow_tasks import day_ingested

        return day_ingested(data_interval_start.date())

    run_daily_job = SparkSubmitOperator(
        task_id="run_daily_job",
        conn_id="fleetwatch_spark",
        name="fleetwatch-daily-{{ ds }}",
        application_args=["--day", "{{ ds }}"],
        env_vars="{{ fleetwatch_env() }}",
        execution_timeout=timedelta(hours=4),
        **spark_submit_arguments(),
    )

    @task
    def check_run(data_interval_start=None) -> str:
        from spark_app.airflow_tasks import check_run as check

        return check(data_interval_start.date())

    wait_for_ingestion() >> run_daily_job >> check_run()
