"""The one place a SparkSession is built, from configuration.

Locally the connector's jars come from var/jars/spark (fetched by Maven once,
so runs work offline); under spark-submit the submitter decides master and
jars (`--packages` on clusters) and only the connector settings are added.
"""

from __future__ import annotations

import os
import sys

from spark_app import jars
from spark_app.config import PROJECT_HOME, Config

CONNECTOR_EXTENSIONS = "com.datastax.spark.connector.CassandraSparkExtensions"


def under_spark_submit() -> bool:
    # spark-submit starts the JVM first and hands Python its gateway port.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_conf(config: Config, app_name: str | None = None,
               local_jars: list | None = None) -> dict[str, str]:
    """The Spark settings fleetwatch needs, as a plain dict (testable without a JVM).
    `local_jars` defaults to the fetched connector bundle."""
    event_dir = config.path("spark", "event_log_dir")
    settings = {
        "spark.app.name": app_name or config.get("spark", "app_name"),
        "spark.sql.extensions": CONNECTOR_EXTENSIONS,
        "spark.sql.catalog.cassandra": "com.datastax.spark.connector.datasource.CassandraCatalog",
        "spark.cassandra.connection.host": ",".join(config.get("cassandra", "hosts")),
        "spark.cassandra.connection.port": str(config.get("cassandra", "port")),
        "spark.cassandra.connection.ssl.enabled": str(config.get("cassandra", "ssl")).lower(),
        # The same level as the driver's sessions: the job reads what ingest wrote.
        "spark.cassandra.input.consistency.level": config.get("cassandra", "consistency"),
        "spark.cassandra.output.consistency.level": config.get("cassandra", "consistency"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(config.get("spark", "shuffle_partitions")),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(config.get("spark",
                                                                      "arrow_batch_rows")),
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": event_dir.as_uri(),
        "spark.ui.enabled": str(config.get("spark", "ui_enabled")).lower(),
        "spark.ui.port": str(config.get("spark", "ui_port")),
        "spark.ui.showConsoleProgress": "false",
    }
    local_dc = config.get("cassandra", "local_dc")
    if local_dc:
        settings["spark.cassandra.connection.localDC"] = local_dc
    username = config.get("cassandra", "username")
    if username:
        settings["spark.cassandra.auth.username"] = username
        settings["spark.cassandra.auth.password"] = config.secret("cassandra", "password") or ""
    if not under_spark_submit():
        log_config = (PROJECT_HOME / "conf" / "log4j2.properties").as_uri()
        java_options = f"-Duser.timezone=UTC -Dlog4j2.configurationFile={log_config}"
        settings.update({
            "spark.master": config.get("spark", "master"),
            "spark.jars": ",".join(str(path) for path in (
                _local_jars(config) if local_jars is None else local_jars)),
            "spark.driver.memory": config.get("spark", "driver_memory"),
            "spark.driver.extraJavaOptions": java_options,
            "spark.executor.extraJavaOptions": java_options,
        })
    return settings


def _local_jars(config: Config) -> list:
    """The connector's jars, and Spark's Kafka source when the stream reads Kafka."""
    bundles = ["spark"] + (["kafka"] if config.get("stream", "source") == "kafka" else [])
    return [path for bundle in bundles for path in jars.jar_paths(config, bundle)]


def build_spark_session(config: Config, app_name: str | None = None, **extra: str):
    """A SparkSession configured for fleetwatch (created on first call only)."""
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (the project's venv), not "python3".
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if not under_spark_submit():
        # Local runs bind to loopback, not to whatever the hostname resolves to.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    config.path("spark", "event_log_dir").mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in {**spark_conf(config, app_name), **extra}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
