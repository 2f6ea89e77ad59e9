"""The daily DAG's one definition of its day, and of its first day (pure logic:
dags/fleetwatch_tasks.py needs no Airflow for these)."""

from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tests.support.airflow_dags import fleetwatch_tasks

daily_start, received_day = fleetwatch_tasks().daily_start, fleetwatch_tasks().received_day


def _run(data_interval_end, run_after):
    return SimpleNamespace(data_interval_end=data_interval_end, run_after=run_after)


def test_the_run_due_at_00_30_processes_the_day_that_ended():
    due = datetime(2016, 11, 18, 0, 30, tzinfo=UTC)
    assert received_day(_run(due, due)) == date(2016, 11, 17)


def test_a_late_run_still_processes_the_day_of_its_interval():
    run = _run(datetime(2016, 11, 18, 0, 30, tzinfo=UTC), datetime(2016, 11, 21, 9, tzinfo=UTC))
    assert received_day(run) == date(2016, 11, 17)


def test_the_day_is_the_utc_one_whatever_the_zone_of_the_interval():
    paris = timezone(timedelta(hours=1))
    assert received_day(_run(datetime(2016, 11, 18, 1, 30, tzinfo=paris), None)) == \
        date(2016, 11, 17)


def test_a_run_triggered_without_logical_date_processes_the_day_before_it():
    assert received_day(_run(None, datetime(2016, 11, 18, 9, 15, tzinfo=UTC))) == \
        date(2016, 11, 17)


def test_the_first_day_is_midnight_utc_of_fleetwatch_daily_start():
    assert daily_start("2016-11-16") == datetime(2016, 11, 16, tzinfo=UTC)


@pytest.mark.parametrize("unset", [None, ""])
def test_no_first_day_without_fleetwatch_daily_start(unset):
    assert daily_start(unset) is None


def test_a_first_day_that_is_no_date_is_refused_by_name():
    with pytest.raises(ValueError, match=r"FLEETWATCH_DAILY_START='16/11/2016' is not an ISO date"):
        daily_start("16/11/2016")


def test_every_cassandra_extra_key_is_a_setting_or_a_secret_of_fleetwatch():
    from spark_app.common.config import SECRET_KEYS, load_config

    keys = set(load_config(environ={}).values["cassandra"]) | {
        key for section, key in SECRET_KEYS if section == "cassandra"}
    assert set(fleetwatch_tasks().CASSANDRA_EXTRA) <= keys
