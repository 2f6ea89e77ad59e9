"""The backtest bench's history days and its reading of a Spark event log."""
import json
from datetime import date

import pytest

from bench.backtest import dominant, event_log_figures, history_days


def test_the_history_ends_on_pds_day():
    assert history_days(3) == [date(2016, 11, 16), date(2016, 11, 17), date(2016, 11, 18)]
    assert history_days(30)[0] == date(2016, 10, 20)


def _stage(stage_id, name, tasks, submitted, completed):
    return {"Event": "SparkListenerStageCompleted",
            "Stage Info": {"Stage ID": stage_id, "Stage Name": name, "Number of Tasks": tasks,
                           "Submission Time": submitted, "Completion Time": completed}}


def test_jobs_and_stages_come_from_the_event_log(tmp_path):
    events = [{"Event": "SparkListenerApplicationStart"},
              {"Event": "SparkListenerJobStart", "Job ID": 0},
              _stage(0, "count at backtest.py:90", 1, 1_000, 3_500),
              {"Event": "SparkListenerJobStart", "Job ID": 1},
              _stage(1, "count at backtest.py:90", 1, 4_000, 5_000),
              _stage(2, "toPandas at backtest.py:98", 8, 5_000, 12_000),
              {"Event": "SparkListenerStageCompleted",  # cancelled before it ran
               "Stage Info": {"Stage ID": 3, "Stage Name": "x", "Number of Tasks": 1}}]
    (tmp_path / "app-1").write_text("".join(json.dumps(event) + "\n" for event in events))
    figures = event_log_figures(tmp_path)
    assert figures["jobs"] == 2
    assert [(s["stage_id"], s["tasks"], s["duration_s"]) for s in figures["stages"]] == [
        (0, 1, 2.5), (1, 1, 1.0), (2, 8, 7.0)]
    assert dominant(figures) == (
        '2 Spark jobs, 3 stages summing 10.5s; "toPandas at backtest.py:98" ×1: 7.0s (8 tasks); '
        '"count at backtest.py:90" ×2: 3.5s (2 tasks)')


def test_an_event_log_folder_must_hold_one_log(tmp_path):
    with pytest.raises(RuntimeError, match="found 0"):
        event_log_figures(tmp_path)
