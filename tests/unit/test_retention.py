"""What a purge of faults may take: the pure rules (the purge itself runs
against the real Cassandra in tests/integration/test_purge.py)."""

from datetime import date

import pytest

from spark_app.cli import main
from spark_app.common.retention import PurgeRefused, day_range, faults_refusal, keep_from, purge


def test_the_next_run_may_read_the_horizon_before_its_day():
    # Last success 11-20: the run of 11-21 may rebuild from 11-14 … 11-20.
    assert keep_from(date(2016, 11, 20), 7) == date(2016, 11, 14)
    assert keep_from(date(2016, 11, 20), 0) == date(2016, 11, 21)


def test_a_purge_up_to_the_horizon_of_processed_days_is_allowed():
    assert faults_refusal(date(2016, 11, 14), date(2016, 11, 20), 7, set()) is None


def test_a_purge_into_the_horizon_is_refused():
    assert faults_refusal(date(2016, 11, 15), date(2016, 11, 20), 7, set()) == (
        "the daily job's next run (day 2016-11-21) may read the faults received since "
        "2016-11-14 (7 days of horizon): purge --before 2016-11-14 at the latest")


def test_a_purge_before_any_run_succeeded_is_refused():
    assert faults_refusal(date(2016, 11, 1), None, 7, set()) == (
        "the daily job has not succeeded for any day yet: every fault is still ahead of it")


def test_days_no_run_processed_are_refused_in_order():
    assert faults_refusal(date(2016, 11, 10), date(2016, 11, 20), 7,
                          {date(2016, 11, 8), date(2016, 11, 2)}) == (
        "no daily run has succeeded yet for the faults received on 2016-11-02, 2016-11-08")


def test_the_days_of_a_purge_stop_before_its_boundary():
    assert day_range(date(2016, 11, 30), date(2016, 12, 2)) == [date(2016, 11, 30),
                                                                date(2016, 12, 1)]
    assert day_range(date(2016, 11, 30), date(2016, 11, 30)) == []


@pytest.mark.parametrize("args, message", [
    (["purge", "faults", "--before", "2016-13-01"], "not a day (YYYY-MM-DD): '2016-13-01'"),
    (["purge", "faults"], "the following arguments are required: --before"),
    (["purge", "violations", "--before", "2016-11-01"], "invalid choice: 'violations'"),
])
def test_bad_purge_arguments_exit_2_saying_what_is_wrong(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_since_after_before_is_refused_before_anything_is_read():
    class Untouchable:  # any read or delete would fail the test
        table = "faults"

    with pytest.raises(PurgeRefused, match="--since 2016-11-20 is after --before 2016-11-10"):
        purge(Untouchable(), date(2016, 11, 10), date(2016, 11, 20), force=False,
              last_succeeded_day=None, succeeded_days=None, horizon_days=7)
