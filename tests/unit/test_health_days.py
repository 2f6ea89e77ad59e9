"""Which ended days `fleetwatch health` expects a daily run for (pure logic)."""

from datetime import UTC, date, datetime

import pytest

from spark_app.common.config import ConfigError, load_config
from spark_app.health.checks import days_due
from spark_app.health.settings import HealthSettings


def _settings(**environ):
    return load_config(environ={f"FLEETWATCH_HEALTH_{k.upper()}": v
                                for k, v in environ.items()}).settings(HealthSettings)


def test_each_ended_day_from_the_start_once_the_grace_has_passed():
    settings = _settings(daily_start="2026-11-27")  # grace 180 minutes
    assert days_due(settings, datetime(2026, 12, 1, 2, 59, tzinfo=UTC)) == [
        date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 29)]
    assert days_due(settings, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))[-1] == date(2026, 11, 30)


def test_at_most_lookback_days_are_checked():
    settings = _settings(daily_start="2020-01-01", lookback_days="3", daily_grace_minutes="0")
    assert days_due(settings, datetime(2026, 12, 1, 12, tzinfo=UTC)) == [
        date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)]


def test_no_day_before_the_start_nor_without_one():
    assert days_due(_settings(daily_start="2026-12-01"),
                    datetime(2026, 12, 1, 12, tzinfo=UTC)) == []
    assert days_due(_settings(), datetime(2026, 12, 1, 12, tzinfo=UTC)) == []


@pytest.mark.parametrize(("key", "value", "message"), [
    ("daily_start", "01/12/2026", "health.daily_start (FLEETWATCH_HEALTH_DAILY_START) must be "
                                  "an ISO date (YYYY-MM-DD) or empty, got '01/12/2026'"),
    ("lookback_days", "0", "health.lookback_days (FLEETWATCH_HEALTH_LOOKBACK_DAYS) must be "
                           "positive, got 0"),
])
def test_bad_settings_are_refused_by_name(key, value, message):
    with pytest.raises(ConfigError) as error:
        _settings(**{key: value})
    assert str(error.value) == message
