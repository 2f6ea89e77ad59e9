"""`make demo`: the embedded defaults end to end, printing what happens."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from spark_app.config import Config


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run_demo(config: Config) -> int:
    from spark_app.cassandra_read import faults_of_day
    from spark_app.cassandra_session import apply_schema, cassandra_session
    from spark_app.faults import Fault, FaultWriter, fault_tag
    from spark_app.relational import create_tables, engine_from_config
    from spark_app.services import LocalCassandra
    from spark_app.session import build_spark_session

    _step("local services")
    print(LocalCassandra(config).start().line())

    _step("schemas")
    engine = engine_from_config(config)
    create_tables(engine)
    keyspace = config.get("cassandra", "keyspace")
    received = datetime(2016, 11, 18, 20, 30, tzinfo=timezone.utc)
    first = datetime(2016, 11, 16, 13, 34, tzinfo=timezone.utc)
    faults = [
        Fault("JAP00100", "JAP", fault_tag("event", 123, 456, 789), first, received),
        Fault("JAP00100", "JAP", fault_tag("diagnostic", 234, 345, 456),
              first + timedelta(seconds=40), received),
        Fault("JAP00200", "JAP", fault_tag("event", 123, 456, 789),
              first + timedelta(minutes=5), received),
        # received the next day: another day bucket
        Fault("KOM00001", "KOM", fault_tag("event", 11, 22, 3), first, received + timedelta(days=1)),
    ]
    with cassandra_session(config) as session:
        print(f"cassandra: {apply_schema(config, session)} schema statements applied")
        written = FaultWriter(session.cluster.connect(keyspace), keyspace,
                              config.get("cassandra", "shards")).write(faults)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    print(f"wrote {written} faults over CQL")

    _step(f"Spark reads day {received.date()} through the connector")
    spark = build_spark_session(config, app_name="fleetwatch-demo")
    try:
        frame = faults_of_day(spark, config, received.date())
        plan = frame._jdf.queryExecution().executedPlan().toString()
        pushed = [line.strip() for line in plan.splitlines() if "Cassandra Filters" in line]
        print("pushed to Cassandra:", *pushed, sep="\n  ")
        frame.orderBy("serial_number", "ts").show(truncate=False)
        print(f"Spark UI while a job runs: http://127.0.0.1:{config.get('spark', 'ui_port')} ; "
              f"event logs: {config.path('spark', 'event_log_dir')}")
    finally:
        spark.stop()
    return 0
