"""The one place a SparkSession is built, from configuration.

Locally the connector's jars come from var/jars/spark (fetched by Maven once,
so runs work offline) and fleetwatch's configuration decides every setting.
Under spark-submit the submitter decides master and jars (`--packages` on
clusters), and whatever else it set (`--name`, `--conf`, spark-defaults.conf)
wins: fleetwatch fills in only what it left unset.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from spark_app.common import jars
from spark_app.common.config import PROJECT_HOME, Config
from spark_app.common.settings import CassandraSettings, SparkSettings

CONNECTOR_EXTENSIONS = "com.datastax.spark.connector.CassandraSparkExtensions"


def under_spark_submit() -> bool:
    # spark-submit starts the JVM first and hands Python its gateway port.
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_conf(config: Config, app_name: str | None = None,
               local_jars: list | None = None) -> dict[str, str]:
    """The Spark settings fleetwatch needs, as a plain dict (testable without a JVM).
    `local_jars` defaults to the fetched connector bundle."""
    spark, cassandra = config.settings(SparkSettings), config.settings(CassandraSettings)
    settings = {
        "spark.app.name": app_name or spark.app_name,
        "spark.sql.extensions": CONNECTOR_EXTENSIONS,
        "spark.sql.catalog.cassandra": "com.datastax.spark.connector.datasource.CassandraCatalog",
        "spark.cassandra.connection.host": ",".join(cassandra.hosts),
        "spark.cassandra.connection.port": str(cassandra.port),
        "spark.cassandra.connection.ssl.enabled": str(cassandra.ssl).lower(),
        # The same level as the driver's sessions: the job reads what ingest wrote.
        "spark.cassandra.input.consistency.level": cassandra.consistency,
        "spark.cassandra.output.consistency.level": cassandra.consistency,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(spark.shuffle_partitions),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(spark.arrow_batch_rows),
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": spark.event_log_uri(config.home),
        "spark.ui.enabled": str(spark.ui_enabled).lower(),
        "spark.ui.port": str(spark.ui_port),
        "spark.ui.showConsoleProgress": "false",
    }
    if cassandra.local_dc:
        settings["spark.cassandra.connection.localDC"] = cassandra.local_dc
    if cassandra.username:
        settings["spark.cassandra.auth.username"] = cassandra.username
    if cassandra.ssl:
        settings["spark.cassandra.connection.ssl.enabledAlgorithms"] = ",".join(
            cassandra.ssl_cipher_suites)
    if cassandra.ssl_trust_store:
        settings.update({
            "spark.cassandra.connection.ssl.trustStore.path": str(cassandra.ssl_trust_store),
            "spark.cassandra.connection.ssl.trustStore.type": cassandra.ssl_trust_store_type})
    if cassandra.ssl_key_store:
        settings.update({
            "spark.cassandra.connection.ssl.clientAuth.enabled": "true",
            "spark.cassandra.connection.ssl.keyStore.path": str(cassandra.ssl_key_store),
            "spark.cassandra.connection.ssl.keyStore.type": cassandra.ssl_key_store_type})
    if not under_spark_submit():
        log_config = (PROJECT_HOME / "conf" / "log4j2.properties").as_uri()
        java_options = f"-Duser.timezone=UTC -Dlog4j2.configurationFile={log_config}"
        settings.update({
            "spark.master": spark.master,
            "spark.jars": ",".join(str(path) for path in (
                _local_jars(config) if local_jars is None else local_jars)),
            "spark.driver.memory": spark.driver_memory,
            "spark.driver.extraJavaOptions": java_options,
            "spark.executor.extraJavaOptions": java_options,
        })
    return settings


def unset_by_submitter(settings: Mapping[str, str], submitted: Mapping[str, str],
                       script: str) -> dict[str, str]:
    """The `settings` that spark-submit's own (`submitted`) leave unset. Without
    --name, spark-submit names the application after its script (`script`, e.g.
    entry.py): that name counts as unset."""
    given = {key for key, value in submitted.items()
             if not (key == "spark.app.name" and value == script)}
    return {key: value for key, value in settings.items() if key not in given}


def spark_secrets(config: Config) -> dict[str, str]:
    """The connector's settings that hold secrets, for build_spark_session to set
    on the running context's SparkConf (see there)."""
    secrets = {}
    if config.settings(CassandraSettings).username:
        secrets["spark.cassandra.auth.password"] = config.secret("cassandra", "password") or ""
    for key, setting in (("ssl_trust_store_password", "trustStore.password"),
                         ("ssl_key_store_password", "keyStore.password")):
        value = config.secret("cassandra", key)
        if value:
            secrets[f"spark.cassandra.connection.ssl.{setting}"] = value
    return secrets


def _local_jars(config: Config) -> list:
    """The connector's jars, and Spark's Kafka source when the stream reads Kafka."""
    # The stream's source is read raw: its typed view (stream.settings) is the stream box's.
    bundles = ["spark"] + (["kafka"] if config.values["stream"]["source"] == "kafka" else [])
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
    settings, secrets = {**spark_conf(config, app_name), **extra}, spark_secrets(config)
    if under_spark_submit():
        submitted = _submitted_conf()
        script = os.path.basename(sys.argv[0])
        settings = unset_by_submitter(settings, submitted, script)
        secrets = unset_by_submitter(secrets, submitted, script)
    if "spark.eventLog.dir" in settings:
        event_logs = config.settings(SparkSettings).local_event_log_dir(config.home)
        if event_logs is not None:
            event_logs.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # Secrets go on the running context's SparkConf, which the connector reads for
    # every read, write and catalog. Not on the builder: PySpark hands those settings
    # to spark-submit as `--conf key=value`, a command line every local user can read
    # in /proc/<pid>/cmdline. Nor with spark.conf.set: Spark copies session settings
    # into each job's properties, and the event log only redacts those SparkConf holds.
    live_conf = session.sparkContext._conf  # the JVM's own SparkConf, not a copy
    for key, value in secrets.items():
        live_conf.set(key, value)
    return session


def _submitted_conf() -> dict[str, str]:
    """The settings spark-submit gave the driver's JVM (--name, --conf,
    spark-defaults.conf), which it holds as system properties."""
    from pyspark import SparkConf, SparkContext

    # Connects to spark-submit's JVM (PYSPARK_GATEWAY_PORT); a SparkConf made after
    # that reads the JVM's spark.* properties, one made before holds nothing.
    SparkContext._ensure_initialized()
    return dict(SparkConf().getAll())
