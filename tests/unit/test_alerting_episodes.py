"""The hold time (stream.alert_for) and breach episodes of the alert state
machine, and silences withholding e-mails but not episodes."""

from datetime import UTC, datetime, timedelta

import pytest

from spark_app.alerts.state_machine import AlertPolicy, Episode, Kind, Thresholds, evaluate
from tests.unit.test_alerting import T0, kinds, window

A, R, M = Kind.ALERT, Kind.RECOVERY, Kind.REMINDER
HOLD_5 = AlertPolicy(hysteresis_c=5.0, reminder=None, hold=timedelta(minutes=5))
THRESHOLDS = Thresholds(default_c=110.0)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def run(averages, policy=HOLD_5, silenced=lambda *_: False, states=None):
    return evaluate(states or {}, [window(m, avg) for m, avg in averages], THRESHOLDS, policy,
                    silenced)


@pytest.mark.parametrize("averages, expected", [
    pytest.param([(10, 111.0), (14, 115.0)], [], id="above for 4 minutes: still pending"),
    pytest.param([(10, 111.0), (15, 112.0)], [(A, 15)], id="above for 5 minutes alerts"),
    pytest.param([(10, 111.0), (12, 109.0), (14, 111.0), (18, 111.0), (19, 111.0)],
                 [(A, 19)], id="a dip at or below threshold restarts the hold"),
    pytest.param([(10, 111.0), (15, 112.0), (16, 100.0)], [(A, 15), (R, 16)],
                 id="recovery as before once alerting"),
])
def test_hold_time(averages, expected):
    assert kinds(run(averages)) == expected


def test_without_hold_the_first_window_above_alerts():
    no_hold = AlertPolicy(hysteresis_c=5.0, reminder=None)
    assert kinds(run([(10, 111.0)], policy=no_hold)) == [(A, 10)]


def test_an_episode_runs_from_the_first_window_above_to_the_recovery():
    evaluation = run([(10, 111.0), (13, 130.0), (15, 112.0), (20, 125.0), (21, 100.0)])
    assert evaluation.episodes == [
        Episode("EX-1", "EX200", 110.0, at(10), at(21), 130.0, 2, False)]


def test_an_open_episode_is_reported_with_its_peak_so_far_and_rewritten_later():
    first = run([(10, 111.0), (15, 118.0)])
    assert first.episodes == [Episode("EX-1", "EX200", 110.0, at(10), None, 118.0, 1, False)]
    later = run([(16, 121.0), (17, 100.0)], states=first.states)
    assert later.episodes == [Episode("EX-1", "EX200", 110.0, at(10), at(17), 121.0, 2, False)]


def test_a_short_spell_above_is_no_episode():
    assert run([(10, 111.0), (12, 100.0)]).episodes == []


def test_a_silenced_machine_gets_its_notices_marked_and_its_episode_recorded():
    silence_until = at(18)
    evaluation = run([(10, 111.0), (15, 120.0), (20, 100.0)],
                     silenced=lambda equipment, model, moment: moment < silence_until)
    assert [(notice.kind, notice.silenced) for notice in evaluation.notices] == [
        (A, True), (R, False)]
    assert evaluation.episodes == [
        Episode("EX-1", "EX200", 110.0, at(10), at(20), 120.0, 1, True)]


def test_the_silence_is_asked_about_the_equipment_model_and_window_end():
    asked = []
    run([(10, 111.0)], silenced=lambda *question: asked.append(question) or False)
    assert asked == [("EX-1", "EX200", datetime(2024, 5, 1, 10, 10, tzinfo=UTC))]


def test_a_negative_hold_is_refused():
    with pytest.raises(ValueError, match="hold time"):
        AlertPolicy(hysteresis_c=1.0, reminder=None, hold=timedelta(minutes=-1))
