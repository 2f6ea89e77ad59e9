"""[kafka]: the connection options the stream's source and the simulator's producer
get, and the settings refused before any client starts."""

from pathlib import Path

import pytest

from spark_app.common.config import ConfigError, load_config
from spark_app.common.kafka import KafkaSettings
from spark_app.stream.settings import StreamSettings, with_stream_source

SASL_SSL = {"FLEETWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "FLEETWATCH_KAFKA_USERNAME": "fleet\"watch",
            "FLEETWATCH_KAFKA_SSL_CA_FILE": "/etc/fleetwatch/kafka-ca.pem"}


def kafka_stream_settings(environ) -> StreamSettings:
    return StreamSettings.from_config(with_stream_source(load_config(environ=environ), "kafka"))


def test_plaintext_by_default_with_nothing_else():
    settings = kafka_stream_settings({})
    assert settings.kafka.spark_source_options() == {"kafka.security.protocol": "PLAINTEXT"}
    assert settings.kafka.producer_config("127.0.0.1:9092") == {
        "bootstrap.servers": "127.0.0.1:9092", "security.protocol": "PLAINTEXT"}


def test_sasl_ssl_options_carry_the_login_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLEETWATCH_KAFKA_PASSWORD", 'pa\\ss"word')
    settings = kafka_stream_settings(SASL_SSL)
    assert settings.kafka.spark_source_options() == {
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config":
            'org.apache.kafka.common.security.plain.PlainLoginModule required '
            'username="fleet\\"watch" password="pa\\\\ss\\"word";',
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": "/etc/fleetwatch/kafka-ca.pem",
    }
    assert settings.kafka.producer_config("broker1:9093") == {
        "bootstrap.servers": "broker1:9093", "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN", "sasl.username": 'fleet"watch',
        "sasl.password": 'pa\\ss"word', "ssl.ca.location": "/etc/fleetwatch/kafka-ca.pem"}


def test_scram_uses_the_scram_login_module(monkeypatch):
    monkeypatch.setenv("FLEETWATCH_KAFKA_PASSWORD", "s3cret")
    settings = kafka_stream_settings({**SASL_SSL, "FLEETWATCH_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                                      "FLEETWATCH_KAFKA_USERNAME": "app"})
    assert settings.kafka.spark_source_options()["kafka.sasl.jaas.config"] == (
        'org.apache.kafka.common.security.scram.ScramLoginModule required '
        'username="app" password="s3cret";')


def test_the_password_is_not_kept_in_the_settings(monkeypatch):
    monkeypatch.setenv("FLEETWATCH_KAFKA_PASSWORD", "s3cret-in-env")
    settings = kafka_stream_settings(SASL_SSL)
    assert "s3cret-in-env" not in repr(settings)


def test_the_options_reach_the_spark_source(monkeypatch):
    """The reader of `_kafka_lines` is given every option (a recording stand-in for
    Spark's DataStreamReader: which options reach the real one is the SASL_SSL
    integration test's business)."""
    from spark_app.stream import sources

    monkeypatch.setenv("FLEETWATCH_KAFKA_PASSWORD", "s3cret")
    given: dict[str, str] = {}

    class Reader:
        def format(self, name):
            given["format"] = name
            return self

        def option(self, key, value):
            given[key] = str(value)
            return self

        def options(self, **options):
            given.update(options)
            return self

        def load(self):
            raise StopIteration  # what follows builds the frame: not this test's business

    class Spark:
        readStream = Reader()  # noqa: N815 - Spark's name

    settings = kafka_stream_settings({**SASL_SSL, "FLEETWATCH_STREAM_KAFKA_BOOTSTRAP": "b1:9093",
                                      "FLEETWATCH_STREAM_KAFKA_TOPIC": "readings"})
    with pytest.raises(StopIteration):
        sources.read_lines(Spark(), settings)
    assert given == {
        "format": "kafka", "kafka.bootstrap.servers": "b1:9093", "subscribe": "readings",
        "startingOffsets": "earliest", "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule '
                                  'required username="fleet\\"watch" password="s3cret";',
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": "/etc/fleetwatch/kafka-ca.pem"}


@pytest.mark.parametrize("environ, password, named", [
    ({"FLEETWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
      "FLEETWATCH_KAFKA_USERNAME": "app"}, "s3cret", "SASL_PLAINTEXT would send"),
    ({"FLEETWATCH_KAFKA_SECURITY_PROTOCOL": "TLS"}, None, r"kafka\.security_protocol"),
    ({"FLEETWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "s3cret", r"needs kafka\.username"),
    ({"FLEETWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "FLEETWATCH_KAFKA_USERNAME": "app"},
     None, "FLEETWATCH_KAFKA_PASSWORD"),
    ({"FLEETWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "FLEETWATCH_KAFKA_USERNAME": "app",
      "FLEETWATCH_KAFKA_SASL_MECHANISM": "GSSAPI"}, "s3cret", r"kafka\.sasl_mechanism"),
    ({"FLEETWATCH_KAFKA_USERNAME": "app"}, "s3cret", "the login would not be used"),
    ({"FLEETWATCH_KAFKA_SSL_CA_FILE": "/ca.pem"}, None, r"kafka\.ssl_ca_file is set"),
])
def test_settings_that_would_leak_or_not_work_are_refused(monkeypatch, environ, password, named):
    if password:
        monkeypatch.setenv("FLEETWATCH_KAFKA_PASSWORD", password)
    else:
        monkeypatch.delenv("FLEETWATCH_KAFKA_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=named):
        kafka_stream_settings(environ)


def test_the_file_source_does_not_check_kafka():
    settings = StreamSettings.from_config(load_config(
        environ={"FLEETWATCH_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}))
    assert settings.source == "files" and settings.kafka is None


def test_the_kafka_password_is_refused_in_a_file(tmp_path: Path):
    leaky = tmp_path / "leaky.toml"
    leaky.write_text("[kafka]\npassword = 'hunter2'\n")
    with pytest.raises(ConfigError, match="FLEETWATCH_KAFKA_PASSWORD"):
        load_config(leaky, environ={})


def test_a_controller_port_out_of_range_is_refused():
    with pytest.raises(ConfigError, match=r"kafka\.controller_port"):
        load_config(environ={"FLEETWATCH_KAFKA_CONTROLLER_PORT": "70000"}).settings(KafkaSettings)


@pytest.mark.parametrize("arguments", [[], ["--out", "var/x", "--kafka"]])
def test_simulate_temperatures_goes_to_a_folder_or_kafka(arguments, capsys):
    from spark_app.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "temperatures", *arguments])
    assert exit_.value.code == 2
    assert "--out" in capsys.readouterr().err
