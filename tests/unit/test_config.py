import re
from pathlib import Path

import pytest

from spark_app.common.config import ConfigError, load_config


def test_embedded_defaults_point_at_this_machine():
    config = load_config(environ={})
    assert config.get("cassandra", "hosts") == ["127.0.0.1"]
    assert config.get("spark", "master") == "local[*]"
    assert config.database_url() == f"sqlite:///{config.home / 'var' / 'fleetwatch.db'}"


@pytest.mark.parametrize("name, value, section, key, expected", [
    ("FLEETWATCH_CASSANDRA_KEYSPACE", "plant7", "cassandra", "keyspace", "plant7"),
    ("FLEETWATCH_CASSANDRA_PORT", "19042", "cassandra", "port", 19042),
    ("FLEETWATCH_CASSANDRA_HOSTS", "cass1, cass2", "cassandra", "hosts", ["cass1", "cass2"]),
    ("FLEETWATCH_SPARK_UI_ENABLED", "false", "spark", "ui_enabled", False),
    ("FLEETWATCH_DATABASE_URL", "postgresql+psycopg://db/fw", "database", "url",
     "postgresql+psycopg://db/fw"),
    ("FLEETWATCH_DAILY_HORIZON_DAYS", "3", "daily", "horizon_days", 3),
])
def test_every_key_can_be_overridden_from_the_environment(name, value, section, key, expected):
    assert load_config(environ={name: value}).get(section, key) == expected


@pytest.mark.parametrize("name, value, named", [
    ("FLEETWATCH_CASSANDRA_PORT", "ninety", "FLEETWATCH_CASSANDRA_PORT"),
    ("FLEETWATCH_CASSANDRA_PORT", "70000", "cassandra.port"),
    ("FLEETWATCH_CASSANDRA_SHARDS", "0", "cassandra.shards"),
    ("FLEETWATCH_SPARK_UI_ENABLED", "maybe", "FLEETWATCH_SPARK_UI_ENABLED"),
    ("FLEETWATCH_CASSANDRA_KEYSPACE", "drop table", "cassandra.keyspace"),
    ("FLEETWATCH_DATABASE_URL", "not a url", "database.url"),
])
def test_a_wrong_value_stops_with_a_message_naming_the_key(name, value, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        load_config(environ={name: value})


def test_another_file_is_selected_by_flag_or_environment(tmp_path: Path):
    other = tmp_path / "plant.toml"
    other.write_text('[cassandra]\nkeyspace = "plant9"\n[spark]\nmaster = "spark://m:7077"\n')
    assert load_config(other, environ={}).get("cassandra", "keyspace") == "plant9"
    from_env = load_config(environ={"FLEETWATCH_CONFIG": str(other)})
    assert from_env.get("spark", "master") == "spark://m:7077"
    # the environment still wins over the file
    assert load_config(other, environ={"FLEETWATCH_SPARK_MASTER": "yarn"}).get(
        "spark", "master") == "yarn"


def test_unknown_key_and_wrong_type_in_a_file_are_refused(tmp_path: Path):
    typo = tmp_path / "typo.toml"
    typo.write_text("[cassandra]\nkeyspaces = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown configuration key cassandra\.keyspaces"):
        load_config(typo, environ={})
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[cassandra]\nport = '9042'\n")
    with pytest.raises(ConfigError, match=r"cassandra\.port must be an integer"):
        load_config(wrong, environ={})


@pytest.mark.parametrize("section, key, value", [
    ("spark", "jars_dir", "'var/jars/spark'"),
    ("spark", "packages", "'com.datastax.spark:spark-cassandra-connector_2.12:3.5.1'"),
    ("stream", "kafka_packages", "'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7'"),
    ("database", "postgres_port", "0"),
])
def test_a_removed_key_in_a_file_is_named_with_what_replaced_it(tmp_path: Path, section, key,
                                                                value):
    old = tmp_path / "old.toml"
    old.write_text(f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=rf"{section}\.{key} was removed: .+; delete it"):
        load_config(old, environ={})


def test_missing_file_is_named(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml", environ={})


def test_secrets_come_only_from_the_environment(tmp_path: Path):
    leaky = tmp_path / "leaky.toml"
    leaky.write_text("[cassandra]\npassword = 'hunter2'\n")
    with pytest.raises(ConfigError, match="FLEETWATCH_CASSANDRA_PASSWORD"):
        load_config(leaky, environ={})
    url_with_password = tmp_path / "url.toml"
    url_with_password.write_text("[database]\nurl = 'postgresql+psycopg://u:pw@db/fw'\n")
    with pytest.raises(ConfigError, match="FLEETWATCH_DATABASE_URL"):
        load_config(url_with_password, environ={})


def test_secret_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLEETWATCH_CASSANDRA_PASSWORD", "s3cret")
    assert load_config(environ={"FLEETWATCH_CASSANDRA_SSL": "true"}).secret(
        "cassandra", "password") == "s3cret"


@pytest.mark.parametrize("section, key", [
    ("cassandra", "ssl_trust_store_password"), ("cassandra", "ssl_key_store_password"),
    ("smtp", "password")])
def test_every_secret_is_refused_in_a_file(tmp_path: Path, section, key):
    leaky = tmp_path / "leaky.toml"
    leaky.write_text(f"[{section}]\n{key} = 'hunter2'\n")
    with pytest.raises(ConfigError, match=f"FLEETWATCH_{section.upper()}_{key.upper()}"):
        load_config(leaky, environ={})


def test_smtp_ssl_and_starttls_exclude_each_other():
    with pytest.raises(ConfigError, match=r"smtp\.ssl"):
        load_config(environ={"FLEETWATCH_SMTP_SSL": "true", "FLEETWATCH_SMTP_STARTTLS": "true"})


def test_a_key_store_type_the_jvm_does_not_read_is_refused():
    with pytest.raises(ConfigError, match=r"cassandra\.ssl_trust_store_type"):
        load_config(environ={"FLEETWATCH_CASSANDRA_SSL_TRUST_STORE_TYPE": "PEM"})


def test_a_cassandra_password_without_tls_is_refused_unless_the_risk_is_accepted(monkeypatch):
    monkeypatch.setenv("FLEETWATCH_CASSANDRA_PASSWORD", "s3cret")
    secret = {"FLEETWATCH_CASSANDRA_USERNAME": "app"}
    with pytest.raises(ConfigError, match=r"cassandra\.ssl is false.+allow_plaintext_password"):
        load_config(environ=secret)
    assert load_config(environ={**secret, "FLEETWATCH_CASSANDRA_SSL": "true"}).get(
        "cassandra", "ssl") is True
    accepted = load_config(environ={**secret,
                                    "FLEETWATCH_CASSANDRA_ALLOW_PLAINTEXT_PASSWORD": "true"})
    assert accepted.get("cassandra", "allow_plaintext_password") is True


def _views():
    from spark_app.common.settings import CassandraSettings, SmtpSettings, SparkSettings
    from spark_app.daily.settings import DailySettings

    return [CassandraSettings, SparkSettings, SmtpSettings, DailySettings]


@pytest.mark.parametrize("view", _views(), ids=lambda view: view.__name__)
def test_each_settings_view_is_its_whole_section_typed(view):
    from dataclasses import FrozenInstanceError, fields

    config = load_config(environ={})
    built = config.settings(view)
    assert {f.name for f in fields(view)} == set(config.values[view.SECTION])
    assert config.settings(view) is built  # built once per Config
    with pytest.raises(FrozenInstanceError):
        built.SECTION_VALUE = 1


def test_settings_views_type_paths_lists_and_empty_paths():
    from spark_app.common.settings import CassandraSettings, SmtpSettings

    config = load_config(environ={"FLEETWATCH_HOME": "/opt/fleetwatch",
                                  "FLEETWATCH_CASSANDRA_HOSTS": "c1,c2",
                                  "FLEETWATCH_CASSANDRA_SSL_CA_FILE": "certs/ca.pem"})
    cassandra = config.settings(CassandraSettings)
    assert cassandra.hosts == ("c1", "c2")
    assert cassandra.ssl_ca_file == Path("/opt/fleetwatch/certs/ca.pem")
    assert cassandra.ssl_key_store is None
    assert config.settings(SmtpSettings).sink_dir == Path("/opt/fleetwatch/var/mail")


def test_only_settings_builders_read_raw_configuration_keys():
    import re

    root = Path(__file__).resolve().parents[2] / "spark_app"
    readers = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                     if re.search(r"\bconfig\.get\(", path.read_text()))
    # the two views with checks of their own; the others go through Config.settings
    assert readers == ["common/config.py", "ingest/settings.py", "stream/settings.py"]


@pytest.mark.parametrize("name, message", [
    ("FLEETWATCH_CASANDRA_HOSTS", "unknown environment variable FLEETWATCH_CASANDRA_HOSTS: "
                                  "did you mean FLEETWATCH_CASSANDRA_HOSTS?"),
    ("FLEETWATCH_SMTP_PASSWROD", "unknown environment variable FLEETWATCH_SMTP_PASSWROD: "
                                 "did you mean FLEETWATCH_SMTP_PASSWORD?"),
    ("FLEETWATCH_LOGLEVEL", "did you mean FLEETWATCH_LOG_LEVEL?"),
    ("FLEETWATCH_XYZ", "unknown environment variable FLEETWATCH_XYZ: every key of "
                       "conf/fleetwatch.toml is FLEETWATCH_<SECTION>_<KEY>"),
    ("FLEETWATCH_SPARK_PACKAGES", "FLEETWATCH_SPARK_PACKAGES: spark.packages was removed"),
])
def test_a_misspelled_variable_is_refused_naming_the_closest(name, message):
    with pytest.raises(ConfigError) as refused:
        load_config(environ={name: "x"})
    assert message in str(refused.value)


def test_the_variables_that_are_no_keys_are_allowed():
    allowed = {"FLEETWATCH_HOME": str(Path.cwd()), "FLEETWATCH_LOG_LEVEL": "debug",
               "FLEETWATCH_DAILY_START": "2016-11-16", "FLEETWATCH_FEED_URL": "http://feed/",
               "FLEETWATCH_TEST_FAIL_AFTER": "record", "FLEETWATCH_SMTP_PASSWORD": "s",
               "FLEETWATCH_CASSANDRA_SSL_TRUST_STORE_PASSWORD": "s",
               "FLEETWATCH_CASSANDRA_SSL_KEY_STORE_PASSWORD": "s",
               "FLEETWATCH_CASSANDRA_USERNAME": "fw", "FLEETWATCH_DATABASE_URL": "sqlite://"}
    assert load_config(environ=allowed).get("cassandra", "username") == "fw"


def test_every_variable_the_test_suites_set_is_a_key_or_allowed():
    """The suites' own settings must pass the check they run under (values aside)."""
    names = set()
    for path in Path(__file__).resolve().parents[1].rglob("*.py"):
        if path.name == "test_config.py":
            continue  # this file misspells names on purpose
        names.update(re.findall(r"\b(FLEETWATCH_[A-Z][A-Z_]*[A-Z])\b", path.read_text()))
    names -= {"FLEETWATCH_TEST_STORE_PASSWORD",  # keytool's, never seen by fleetwatch
              "FLEETWATCH_CASANDRA_HOSTS"}  # test_fleetwatch_cli.py misspells it on purpose
    assert len(names) > 20
    for name in sorted(names - {"FLEETWATCH_CONFIG", "FLEETWATCH_HOME"}):
        try:
            load_config(environ={name: "1"})
        except ConfigError as error:  # a wrong value for the key is fine here
            assert "unknown environment variable" not in str(error)
            assert "was removed" not in str(error)
