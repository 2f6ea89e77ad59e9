"""Configuration: embedded defaults in conf/fleetwatch.toml, overridden by
another file (--config / FLEETWATCH_CONFIG) and by FLEETWATCH_<SECTION>_<KEY>.

The default file is also the schema: every key it holds has the type of its
default value, a key it does not hold is refused, and so is a value of the
wrong type. Secrets exist only in the environment.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

PROJECT_HOME = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_FILE = PROJECT_HOME / "conf" / "fleetwatch.toml"
ENV_PREFIX = "FLEETWATCH_"

# Secrets: read from the environment only, never from a file.
SECRET_KEYS = {("cassandra", "password"), ("cassandra", "ssl_trust_store_password"),
               ("cassandra", "ssl_key_store_password"), ("smtp", "password"),
               ("kafka", "password")}

# FLEETWATCH_* variables that are not configuration keys, each read where it is used;
# any other FLEETWATCH_* variable that names no key is refused like a misspelled file key.
# (The secrets, FLEETWATCH_<SECTION>_<KEY> of SECRET_KEYS, are allowed as well.)
ENVIRONMENT_NOT_KEYS = {
    "FLEETWATCH_HOME": "the folder relative paths start from",
    "FLEETWATCH_CONFIG": "the configuration file",
    "FLEETWATCH_LOG_LEVEL": "how much the command logs on stderr",
    "FLEETWATCH_DAILY_START": "the daily DAG's first day (dag-processor)",
    "FLEETWATCH_FEED_URL": "the ingest DAG's feed without an Airflow connection",
    "FLEETWATCH_AIRFLOW_PASSWORD": "the local Airflow's admin password (a secret)",
    "FLEETWATCH_TEST_FAIL_AFTER": "test hook of the daily job: crash after a step",
    "FLEETWATCH_TEST_KILL_TASK_AFTER_STORE": "test hook of the daily job: SIGKILL the first "
                                             "attempt of its tasks once they stored violations",
    "FLEETWATCH_UPDATE_SCREENSHOT": "test hook of the report's browser test",
}

# Keys that once existed, and why a file that still sets one should drop it.
REMOVED_KEYS = {
    ("spark", "jars_dir"): "the connector's jars are always fetched into <paths.var_dir>/jars/spark",
    ("spark", "packages"): "the connector's coordinates are those of conf/jvm/spark/pom.xml "
                           "(spark-submit --packages takes them from there, see the README)",
    ("stream", "kafka_packages"): "the Kafka source's coordinates are those of "
                                  "conf/jvm/kafka/pom.xml",
    ("database", "postgres_port"): "it was never read; the tests start their own PostgreSQL",
}

# Cassandra consistency levels valid for both reads and writes (ANY is write-only and
# acknowledges a write no replica holds; SERIAL levels are for lightweight transactions).
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM",
                      "EACH_QUORUM")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the key."""


Settings = TypeVar("Settings")


@dataclass(frozen=True)
class Config:
    values: Mapping[str, Mapping[str, Any]]
    home: Path
    source: Path
    _views: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def settings(self, view: type[Settings]) -> Settings:
        """The typed, frozen settings `view` of its section, built once per Config.

        `view` is a frozen dataclass naming its section in `SECTION`; each field
        is the key of the same name. A `Path` field is made absolute against the
        home (an empty `Path | None` is None), a list becomes a tuple; the
        view's own `__post_init__` may check more. Values were type-checked at
        load against the embedded defaults."""
        built = self._views.get(view)
        if built is None:
            built = self._views[view] = _build_view(self, view)
        return built

    def get(self, section: str, key: str) -> Any:
        try:
            return self.values[section][key]
        except KeyError:
            raise ConfigError(f"missing configuration key {section}.{key}") from None

    def secret(self, section: str, key: str) -> str | None:
        """A secret from FLEETWATCH_<SECTION>_<KEY>, or None when unset."""
        return os.environ.get(env_name(section, key)) or None

    def path(self, section: str, key: str) -> Path:
        """A path value, made absolute against the fleetwatch home."""
        value = Path(self.get(section, key))
        return value if value.is_absolute() else self.home / value

    @property
    def var_dir(self) -> Path:
        return self.path("paths", "var_dir")

    def database_url(self) -> str:
        """The SQLAlchemy URL; a relative SQLite path is made absolute under home."""
        url = self.get("database", "url")
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://":
            relative = url[len(prefix):]
            if relative and relative != ":memory:":
                return prefix + str(self.home / relative)
        return url


def _build_view(config: Config, view: type[Settings]) -> Settings:
    hints = typing.get_type_hints(view)
    values = {}
    for item in fields(view):
        raw = config.get(view.SECTION, item.name)
        hint = hints[item.name]
        if hint is Path:
            values[item.name] = config.path(view.SECTION, item.name)
        elif hint == Path | None:
            values[item.name] = config.path(view.SECTION, item.name) if raw else None
        elif isinstance(raw, list):
            values[item.name] = tuple(raw)
        else:
            values[item.name] = raw
    return view(**values)


def env_name(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"


def load_config(path: str | os.PathLike | None = None,
                environ: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the selected file, then the environment."""
    environ = os.environ if environ is None else environ
    schema = _read_toml(DEFAULT_CONFIG_FILE)
    values = {section: dict(keys) for section, keys in schema.items()}

    selected = path or environ.get(ENV_PREFIX + "CONFIG")
    source = DEFAULT_CONFIG_FILE
    if selected:
        source = Path(selected).resolve()
        _merge_file(values, schema, _read_toml(source), source)

    _merge_environment(values, schema, environ)
    _check(values)
    _check_password_transport(values)
    home = Path(environ.get(ENV_PREFIX + "HOME") or PROJECT_HOME).resolve()
    return Config(values=values, home=home, source=source)


def _read_toml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def _merge_file(values, schema, overrides, source: Path) -> None:
    for section, keys in overrides.items():
        if not isinstance(keys, dict):
            raise ConfigError(f"{source}: {section} must be a [section]")
        for key, value in keys.items():
            if (section, key) in SECRET_KEYS:
                raise ConfigError(
                    f"{source}: {section}.{key} is a secret; set {env_name(section, key)} "
                    "in the environment instead")
            default = _schema_default(schema, section, key, where=str(source))
            values[section][key] = _coerce_typed(value, default, section, key)


def _merge_environment(values, schema, environ) -> None:
    allowed = allowed_environment_names()
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in allowed:
            continue
        match = _split_env_name(name, schema)
        if match is None:
            _refuse_environment_name(name, schema, allowed)
        section, key = match
        values[section][key] = _parse_env(raw, schema[section][key], name)


def allowed_environment_names() -> set[str]:
    """The FLEETWATCH_* variables that are read although they are no configuration key."""
    return set(ENVIRONMENT_NOT_KEYS) | {env_name(section, key) for section, key in SECRET_KEYS}


def _refuse_environment_name(name: str, schema, allowed: set[str]) -> typing.NoReturn:
    for (section, key), why in REMOVED_KEYS.items():
        if name == env_name(section, key):
            raise ConfigError(f"{name}: {section}.{key} was removed: {why}; "
                              "unset the variable")
    known = sorted({env_name(section, key) for section, keys in schema.items() for key in keys}
                   | allowed)
    # compared without the prefix every name shares, which would make anything look close
    closest = difflib.get_close_matches(name.removeprefix(ENV_PREFIX),
                                        [other.removeprefix(ENV_PREFIX) for other in known],
                                        n=1, cutoff=0.6)
    hint = f"did you mean {ENV_PREFIX}{closest[0]}?" if closest else \
        "every key of conf/fleetwatch.toml is FLEETWATCH_<SECTION>_<KEY>"
    raise ConfigError(f"unknown environment variable {name}: {hint} (unset it, or rename it)")


def _split_env_name(name: str, schema) -> tuple[str, str] | None:
    rest = name[len(ENV_PREFIX):].lower()
    for section, keys in schema.items():
        if rest.startswith(section + "_") and rest[len(section) + 1:] in keys:
            return section, rest[len(section) + 1:]
    return None


def _schema_default(schema, section, key, where):
    if (section, key) in REMOVED_KEYS:
        raise ConfigError(f"{where}: {section}.{key} was removed: {REMOVED_KEYS[section, key]}; "
                          "delete it from the file")
    if section not in schema or key not in schema[section]:
        raise ConfigError(f"{where}: unknown configuration key {section}.{key}")
    return schema[section][key]


def _coerce_typed(value, default, section, key):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(
            f"{section}.{key} must be {_type_name(default)}, got {value!r}")
    return float(value) if isinstance(default, float) else value


def _parse_env(raw: str, default, name: str):
    try:
        if isinstance(default, bool):
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {_type_name(default)}, got {raw!r}") from None
    if isinstance(default, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _type_name(default) -> str:
    return {bool: "true or false", int: "an integer", float: "a number",
            list: "a list of strings"}.get(type(default), "a string")


def _check_password_transport(values) -> None:
    """No Cassandra password over a connection without TLS, unless accepted by name
    (the password is read where Config.secret reads it: the process environment)."""
    cassandra = values["cassandra"]
    if (os.environ.get(env_name("cassandra", "password")) and not cassandra["ssl"]
            and not cassandra["allow_plaintext_password"]):
        raise ConfigError(
            "a Cassandra password is set but cassandra.ssl is false: it would cross the "
            "network in clear; turn on cassandra.ssl (FLEETWATCH_CASSANDRA_SSL=true), or accept "
            "the risk with cassandra.allow_plaintext_password = true")


def _check(values) -> None:
    """Value checks beyond types, each naming its key."""
    def require(condition: bool, section: str, key: str, what: str) -> None:
        if not condition:
            raise ConfigError(
                f"{section}.{key} ({env_name(section, key)}) {what}, "
                f"got {values[section][key]!r}")

    for section, key in (("cassandra", "port"), ("cassandra", "storage_port"),
                         ("spark", "ui_port"), ("smtp", "port"), ("kafka", "controller_port")):
        require(1 <= values[section][key] <= 65535, section, key, "must be a TCP port")
    require(bool(values["cassandra"]["hosts"]), "cassandra", "hosts", "must name a host")
    require(values["cassandra"]["keyspace"].isidentifier(), "cassandra", "keyspace",
            "must be a CQL identifier")
    require(values["cassandra"]["shards"] >= 1, "cassandra", "shards", "must be at least 1")
    require(values["cassandra"]["consistency"] in CONSISTENCY_LEVELS, "cassandra", "consistency",
            "must be one of " + ", ".join(CONSISTENCY_LEVELS))
    require(values["daily"]["horizon_days"] >= 0, "daily", "horizon_days",
            "must not be negative")
    require(values["daily"]["upsert_batch_size"] >= 1, "daily", "upsert_batch_size",
            "must be at least 1")
    require(bool(values["spark"]["master"]), "spark", "master", "must be set")
    require(not (values["smtp"]["ssl"] and values["smtp"]["starttls"]), "smtp", "ssl",
            "and smtp.starttls exclude each other (TLS from the start, or upgraded)")
    for key in ("ssl_trust_store_type", "ssl_key_store_type"):
        require(values["cassandra"][key] in ("JKS", "PKCS12"), "cassandra", key,
                "must be JKS or PKCS12")
    url = values["database"]["url"]
    require("://" in url, "database", "url", "must be a SQLAlchemy URL")
    if urlsplit(url).password and os.environ.get(env_name("database", "url")) != url:
        raise ConfigError(
            "database.url holds a password: set FLEETWATCH_DATABASE_URL in the "
            "environment instead of writing it in a file")
