from spark_app.common.config import load_config
from spark_app.common.spark_session import spark_conf


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
