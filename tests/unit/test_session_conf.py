from pathlib import Path

from spark_app.common.config import load_config
from spark_app.common.settings import SparkSettings
from spark_app.common.spark_session import spark_conf, spark_secrets, unset_by_submitter


def test_spark_settings_come_from_config(tmp_path):
    config = load_config(environ={"FLEETWATCH_SPARK_MASTER": "spark://m:7077",
                                  "FLEETWATCH_CASSANDRA_HOSTS": "c1,c2",
                                  "FLEETWATCH_CASSANDRA_USERNAME": "fw",
                                  "FLEETWATCH_SPARK_ARROW_BATCH_ROWS": "1234"})
    settings = spark_conf(config, local_jars=[tmp_path / "a.jar", tmp_path / "b.jar"])
    assert settings["spark.master"] == "spark://m:7077"
    assert settings["spark.cassandra.connection.host"] == "c1,c2"
    assert settings["spark.sql.extensions"] == \
        "com.datastax.spark.connector.CassandraSparkExtensions"
    assert settings["spark.jars"] == f"{tmp_path / 'a.jar'},{tmp_path / 'b.jar'}"
    assert settings["spark.eventLog.enabled"] == "true"
    assert settings["spark.eventLog.dir"].endswith("/var/spark-events")
    assert settings["spark.ui.enabled"] == "true"
    assert settings["spark.cassandra.auth.username"] == "fw"
    assert settings["spark.sql.session.timeZone"] == "UTC"
    assert settings["spark.sql.execution.arrow.maxRecordsPerBatch"] == "1234"


def test_under_spark_submit_the_submitter_decides_master_and_jars(monkeypatch):
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "12345")
    settings = spark_conf(load_config(environ={}), local_jars=[])
    assert "spark.master" not in settings and "spark.jars" not in settings
    assert settings["spark.cassandra.connection.port"] == "9042"


def test_secrets_are_kept_apart_from_the_settings_spark_submit_gets(monkeypatch, tmp_path):
    monkeypatch.setenv("FLEETWATCH_CASSANDRA_PASSWORD", "pw-1")
    monkeypatch.setenv("FLEETWATCH_CASSANDRA_SSL_TRUST_STORE_PASSWORD", "pw-2")
    monkeypatch.setenv("FLEETWATCH_CASSANDRA_SSL_KEY_STORE_PASSWORD", "pw-3")
    config = load_config(environ={"FLEETWATCH_CASSANDRA_USERNAME": "fw",
                                  "FLEETWATCH_CASSANDRA_SSL": "true"})
    settings = spark_conf(config, local_jars=[])
    assert not any(value in ("pw-1", "pw-2", "pw-3") for value in settings.values())
    assert spark_secrets(config) == {
        "spark.cassandra.auth.password": "pw-1",
        "spark.cassandra.connection.ssl.trustStore.password": "pw-2",
        "spark.cassandra.connection.ssl.keyStore.password": "pw-3"}


def test_connector_tls_settings_come_from_config(tmp_path):
    config = load_config(environ={
        "FLEETWATCH_CASSANDRA_SSL": "true",
        "FLEETWATCH_CASSANDRA_SSL_TRUST_STORE": "/etc/fw/trust.p12",
        "FLEETWATCH_CASSANDRA_SSL_TRUST_STORE_TYPE": "PKCS12",
        "FLEETWATCH_CASSANDRA_SSL_KEY_STORE": "/etc/fw/key.jks",
        "FLEETWATCH_CASSANDRA_SSL_CIPHER_SUITES": "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256"})
    settings = spark_conf(config, local_jars=[])
    assert settings["spark.cassandra.connection.ssl.enabled"] == "true"
    assert settings["spark.cassandra.connection.ssl.trustStore.path"] == "/etc/fw/trust.p12"
    assert settings["spark.cassandra.connection.ssl.trustStore.type"] == "PKCS12"
    assert settings["spark.cassandra.connection.ssl.clientAuth.enabled"] == "true"
    assert settings["spark.cassandra.connection.ssl.keyStore.path"] == "/etc/fw/key.jks"
    assert settings["spark.cassandra.connection.ssl.keyStore.type"] == "JKS"
    assert settings["spark.cassandra.connection.ssl.enabledAlgorithms"] == \
        "TLS_AES_256_GCM_SHA384,TLS_AES_128_GCM_SHA256"


def test_no_tls_settings_without_tls():
    settings = spark_conf(load_config(environ={}), local_jars=[])
    assert settings["spark.cassandra.connection.ssl.enabled"] == "false"
    assert not [key for key in settings if key.startswith("spark.cassandra.connection.ssl.")
                and key != "spark.cassandra.connection.ssl.enabled"]


def test_the_event_log_dir_takes_any_hadoop_uri_as_given():
    for uri in ("hdfs://nn:8020/x", "s3a://bucket/spark-events", "file:///srv/spark-events"):
        config = load_config(environ={"FLEETWATCH_SPARK_EVENT_LOG_DIR": uri})
        assert spark_conf(config, local_jars=[])["spark.eventLog.dir"] == uri


def test_a_plain_event_log_dir_becomes_a_file_uri(tmp_path):
    relative = load_config(environ={"FLEETWATCH_HOME": str(tmp_path),
                                    "FLEETWATCH_SPARK_EVENT_LOG_DIR": "var/events"})
    assert spark_conf(relative, local_jars=[])["spark.eventLog.dir"] == \
        f"file://{tmp_path}/var/events"
    absolute = load_config(environ={"FLEETWATCH_SPARK_EVENT_LOG_DIR": "/srv/spark events"})
    assert spark_conf(absolute, local_jars=[])["spark.eventLog.dir"] == \
        "file:///srv/spark%20events"


def test_only_the_event_logs_of_this_machine_have_a_local_folder(tmp_path):
    def local_dir(value):
        config = load_config(environ={"FLEETWATCH_HOME": str(tmp_path),
                                      "FLEETWATCH_SPARK_EVENT_LOG_DIR": value})
        return config.settings(SparkSettings).local_event_log_dir(config.home)

    assert local_dir("var/events") == tmp_path / "var" / "events"
    assert local_dir("file:///srv/spark%20events") == Path("/srv/spark events")
    assert local_dir("hdfs://nn:8020/x") is None
    assert local_dir("s3a://bucket/spark-events") is None


def test_what_the_submitter_set_wins_and_the_rest_is_filled_in():
    ours = {"spark.app.name": "fleetwatch-daily-2016-11-18",
            "spark.sql.shuffle.partitions": "8", "spark.ui.port": "4040",
            "spark.eventLog.dir": "file:///home/fw/var/spark-events",
            "spark.cassandra.connection.port": "9042"}
    submitted = {"spark.app.name": "nightly", "spark.sql.shuffle.partitions": "200",
                 "spark.eventLog.dir": "hdfs://nn:8020/spark-logs", "spark.master": "yarn"}
    assert unset_by_submitter(ours, submitted, "entry.py") == {
        "spark.ui.port": "4040", "spark.cassandra.connection.port": "9042"}


def test_the_name_spark_submit_gives_a_script_counts_as_unset():
    ours = {"spark.app.name": "fleetwatch-stream", "spark.ui.port": "4040"}
    assert unset_by_submitter(ours, {"spark.app.name": "entry.py"}, "entry.py") == ours
