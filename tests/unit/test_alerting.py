"""The alert state machine: crossing, staying above, reminders, recovery with
hysteresis, stale windows, restart from persisted state, replay."""

from datetime import UTC, datetime, timedelta

import pytest

from spark_app.alerts.state_machine import (
    AlertPolicy,
    AlertState,
    Kind,
    Thresholds,
    WindowStat,
    evaluate,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)
POLICY = AlertPolicy(hysteresis_c=5.0, reminder=timedelta(minutes=60))
THRESHOLDS = Thresholds(default_c=110.0)
A, R, M = Kind.ALERT, Kind.RECOVERY, Kind.REMINDER


def window(end_minute: int, avg_c: float, equipment: str = "EX-1", model: str | None = "EX200"):
    end = T0 + timedelta(minutes=end_minute)
    return WindowStat(equipment, end - WINDOW, end, model, avg_c, avg_c + 3.0, 60)


def run(averages, policy=POLICY, thresholds=THRESHOLDS, states=None):
    windows = [window(minute, avg) for minute, avg in averages]
    return evaluate(states or {}, windows, thresholds, policy)


def kinds(evaluation):
    return [(n.kind, int((n.window.window_end - T0).total_seconds() // 60))
            for n in evaluation.notices]


@pytest.mark.parametrize("averages, expected", [
    # (window end minute, average) in event-time order -> (notice, window end minute)
    pytest.param([(10, 100.0), (11, 109.9), (12, 110.0)], [], id="never above"),
    pytest.param([(10, 100.0), (11, 111.0), (12, 115.0), (13, 120.0)], [(A, 11)],
                 id="crossing sends one alert"),
    pytest.param([(10, 111.0), (11, 106.0), (12, 105.0), (13, 111.0)], [(A, 10)],
                 id="inside the hysteresis band nothing happens"),
    pytest.param([(10, 111.0), (11, 104.9)], [(A, 10), (R, 11)],
                 id="below threshold minus hysteresis recovers"),
    pytest.param([(10, 111.0), (11, 100.0), (12, 112.0), (13, 90.0)],
                 [(A, 10), (R, 11), (A, 12), (R, 13)], id="each new breach alerts again"),
    pytest.param([(10, 111.0), (69, 120.0), (70, 120.0), (100, 120.0), (130, 125.0)],
                 [(A, 10), (M, 70), (M, 130)], id="reminders once per interval"),
    pytest.param([(10, 111.0), (70, 107.0), (71, 111.0)], [(A, 10), (M, 71)],
                 id="no reminder inside the band, one once above again"),
    pytest.param([(10, 111.0), (11, 50.0), (12, 50.0)], [(A, 10), (R, 11)],
                 id="one recovery only"),
])
def test_transitions(averages, expected):
    assert kinds(run(averages)) == expected


def test_no_reminders_when_disabled():
    policy = AlertPolicy(hysteresis_c=5.0, reminder=None)
    assert kinds(run([(10, 111.0), (200, 130.0)], policy)) == [(A, 10)]


def test_windows_are_evaluated_in_event_time_order_whatever_the_input_order():
    shuffled = [(12, 50.0), (10, 111.0), (11, 120.0)]
    assert kinds(run(shuffled)) == [(A, 10), (R, 12)]


def test_a_window_older_than_the_last_evaluated_is_stale_and_skipped():
    first = run([(10, 111.0)])
    late = run([(9, 20.0)], states=first.states)
    assert late.notices == [] and late.stale_windows == 1
    assert late.states == {}  # nothing changed


def test_the_same_window_evolving_is_evaluated_again():
    # update mode re-emits a window as readings arrive: its newest average counts
    evaluation = run([(10, 111.0)])
    again = evaluate(evaluation.states, [window(10, 100.0)], THRESHOLDS, POLICY)
    assert kinds(again) == [(R, 10)]
    assert again.notices[0].message_id != evaluation.notices[0].message_id


def test_notice_carries_what_the_email_names():
    notice = run([(10, 100.0), (11, 131.5)]).notices[0]
    assert (notice.equipment_id, notice.model, notice.window.avg_c, notice.window.max_c,
            notice.threshold_c) == ("EX-1", "EX200", 131.5, 134.5, 110.0)
    assert notice.breach_started == T0 + timedelta(minutes=11)


AVERAGES = [(10, 90.0), (11, 111.0), (12, 115.0), (40, 112.0), (71, 118.0), (72, 103.0),
            (73, 100.0), (80, 140.0)]


@pytest.mark.parametrize("split", range(1, len(AVERAGES)))
def test_restart_with_persisted_state_gives_the_same_notices(split):
    """Stopping after any batch and going on from the saved states changes nothing."""
    whole = run(AVERAGES)
    first = run(AVERAGES[:split])
    saved = {**first.states}
    second = run(AVERAGES[split:], states=saved)
    assert [n.message_id for n in first.notices + second.notices] == \
        [n.message_id for n in whole.notices]
    assert kinds(whole) == [(A, 11), (M, 71), (R, 72), (A, 80)]


@pytest.mark.parametrize("split", range(1, len(AVERAGES)))
def test_replaying_a_batch_from_its_own_result_sends_nothing_more(split):
    """A batch replayed after its states were saved (crash before the checkpoint
    commit) finds the equipment already where the batch left it."""
    before = run(AVERAGES[:split])
    replay = run(AVERAGES[:split], states=before.states)
    assert replay.notices == []


def test_replaying_a_batch_from_the_old_state_gives_the_same_message_ids():
    """Crash after the e-mails were queued but before the states were saved:
    the replay queues the very same messages (same ids), not new ones."""
    assert [n.message_id for n in run(AVERAGES).notices] == \
        [n.message_id for n in run(AVERAGES).notices]


def test_equipment_are_independent():
    windows = [window(10, 120.0, "EX-1"), window(10, 100.0, "EX-2"),
               window(11, 100.0, "EX-1"), window(11, 121.0, "EX-2")]
    evaluation = evaluate({}, windows, THRESHOLDS, POLICY)
    assert [(n.equipment_id, n.kind) for n in evaluation.notices] == [
        ("EX-1", A), ("EX-1", R), ("EX-2", A)]


def test_known_alerting_state_is_not_announced_again():
    state = AlertState("EX-1", alerting=True, model="EX200", notices=1,
                       breach_started=T0, last_notified=T0, last_window_end=T0)
    assert run([(5, 130.0)], states={"EX-1": state}).notices == []


@pytest.mark.parametrize("equipment, model, expected", [
    ("EX-1", "EX200", 95.0),     # the equipment's own threshold wins
    ("EX-2", "EX200", 120.0),    # else its model's
    ("EX-3", "HD785", 110.0),    # else the default
    ("EX-4", None, 110.0),       # no model known: the default
])
def test_threshold_precedence(equipment, model, expected):
    thresholds = Thresholds(110.0, by_model={"EX200": 120.0}, by_equipment={"EX-1": 95.0})
    assert thresholds.for_equipment(equipment, model) == expected


def test_the_model_remembered_in_the_state_selects_the_threshold():
    thresholds = Thresholds(110.0, by_model={"EX200": 130.0})
    first = evaluate({}, [window(10, 100.0)], thresholds, POLICY)
    # a later window without a model: the state's model still picks 130
    later = evaluate(first.states, [window(11, 120.0, model=None)], thresholds, POLICY)
    assert later.notices == []
    assert later.states["EX-1"].model == "EX200"


def test_negative_hysteresis_is_refused():
    with pytest.raises(ValueError):
        AlertPolicy(hysteresis_c=-1.0, reminder=None)
