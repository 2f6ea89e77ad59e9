"""Pull the telemetry feed into Cassandra every 15 minutes (fleetwatch_ingest)."""

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG, task
from fleetwatch_tasks import check_health, notify_failure, notify_retry

DOC = """
### fleetwatch_ingest

Every 15 minutes, follows the telemetry feed (Airflow connection
`fleetwatch_feed`, extra `{"url": …}`) from its cursor in Cassandra until
there is no next page, writing faults into `faults` (bucketed by day received)
and what cannot be ingested into `rejected_messages`. The cursor moves only
after a page is written, so a retry re-fetches at most one page and
re-writing it is an upsert.

No catchup: each run pulls whatever the feed holds past the cursor, whatever
its logical date. Cassandra comes from the `fleetwatch_cassandra` connection
or the worker's `FLEETWATCH_*` environment.

Then `check_health` (whatever became of the pull): `fleetwatch health
--notify` e-mails operations once per finding — a day whose daily run is
missing or failed, a feed silent for longer than
`health.feed_max_silence_minutes`. A failed or retried task of either DAG
e-mails operations once per try (`notify_failure`, `notify_retry`).
"""

with DAG(
    dag_id="fleetwatch_ingest",
    schedule=timedelta(minutes=15),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # one pull at a time moves the cursor
    default_args={"retries": 3, "retry_delay": timedelta(minutes=2),
                  "retry_exponential_backoff": True,
                  "on_failure_callback": notify_failure, "on_retry_callback": notify_retry},
    dagrun_timeout=timedelta(minutes=60),
    doc_md=DOC,
    tags=["fleetwatch", "ingest"],
):

    @task(execution_timeout=timedelta(minutes=45))
    def pull_feed() -> str:
        from fleetwatch_tasks import pull_feed as pull

        return pull()[-2000:]

    # After the pull, failed or not: a feed that cannot be pulled is a finding too.
    @task(trigger_rule="all_done", execution_timeout=timedelta(minutes=10))
    def health() -> str:
        return check_health()[-2000:]

    pull_feed() >> health()
