"""The temperature stream's pure parts: settings, progress metrics, the
simulator, the alert e-mail."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from spark_app.alerts import message as alert_mail
from spark_app.alerts.state_machine import AlertPolicy, Kind, Thresholds, WindowStat, evaluate
from spark_app.common.config import ConfigError, load_config
from spark_app.sim import temperatures as simulator
from spark_app.stream.metrics import batch_metrics
from spark_app.stream.settings import StreamSettings, duration_seconds, with_stream_source

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("text, seconds", [
    ("10 minutes", 600), ("1 minute", 60), ("2 minutes", 120), ("5 seconds", 5),
    ("1 hour", 3600), ("2days", 172800),
])
def test_durations(text, seconds):
    assert duration_seconds(text, "window") == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "0 minutes", "1 fortnight", "1 hour 5 minutes"])
def test_bad_durations_name_the_key(text):
    with pytest.raises(ConfigError, match="FLEETWATCH_STREAM_WATERMARK"):
        duration_seconds(text, "watermark")


def test_settings_from_the_embedded_defaults():
    settings = StreamSettings.from_config(load_config(environ={}))
    assert (settings.source, settings.window, settings.slide, settings.watermark,
            settings.trigger) == ("files", "10 minutes", "1 minute", "2 minutes", "5 seconds")
    assert settings.source_dir.parts[-2:] == ("var", "readings")
    assert settings.default_threshold_c == 110.0
    assert settings.policy == AlertPolicy(5.0, timedelta(minutes=60))


@pytest.mark.parametrize("environ, named", [
    ({"FLEETWATCH_STREAM_SOURCE": "mqtt"}, "FLEETWATCH_STREAM_SOURCE"),
    ({"FLEETWATCH_STREAM_SLIDE": "20 minutes"}, "stream.slide"),
    ({"FLEETWATCH_STREAM_HYSTERESIS_C": "-1"}, "FLEETWATCH_STREAM_HYSTERESIS_C"),
    ({"FLEETWATCH_STREAM_REMINDER_MINUTES": "-5"}, "FLEETWATCH_STREAM_REMINDER_MINUTES"),
])
def test_wrong_settings_are_refused_with_their_key(environ, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        StreamSettings.from_config(load_config(environ=environ))


def test_no_reminders_when_the_interval_is_zero():
    config = load_config(environ={"FLEETWATCH_STREAM_REMINDER_MINUTES": "0"})
    assert StreamSettings.from_config(config).policy.reminder is None


def test_the_command_line_source_is_folded_into_the_configuration(tmp_path):
    config = load_config(environ={})
    kafka = with_stream_source(config, "kafka")
    assert kafka.get("stream", "source") == "kafka"  # the session adds the Kafka jars then
    files = with_stream_source(config, str(tmp_path))
    assert (files.get("stream", "source"), files.path("stream", "source_dir")) == \
        ("files", tmp_path)
    assert with_stream_source(config, None) is config


PROGRESS = {
    "id": "3f1c", "runId": "9a2b", "name": "temperature_windows",
    "timestamp": "2024-05-01T10:00:05.123Z", "batchId": 7, "numInputRows": 120,
    "durationMs": {"triggerExecution": 1500, "addBatch": 1200},
    "eventTime": {"watermark": "2024-05-01T09:58:00.000Z"},
    "stateOperators": [{"numRowsDroppedByWatermark": 3}],
    "observedMetrics": {"readings": {"lines": 120, "valid": 115, "rejected": 5}},
}


def test_a_progress_becomes_one_metrics_row():
    metrics = batch_metrics(json.loads(json.dumps(PROGRESS)))
    assert (metrics.query_name, metrics.day, metrics.batch_id, metrics.input_rows,
            metrics.readings_valid, metrics.readings_rejected,
            metrics.rows_dropped_by_watermark, metrics.duration_ms) == \
        ("temperature_windows", date(2024, 5, 1), 7, 120, 115, 5, 3, 1500)
    assert metrics.watermark == datetime(2024, 5, 1, 9, 58, tzinfo=UTC)
    assert metrics.batch_ts == datetime(2024, 5, 1, 10, 0, 5, 123000, tzinfo=UTC)


def test_a_progress_without_state_or_observations():
    bare = {k: v for k, v in PROGRESS.items()
            if k not in ("stateOperators", "observedMetrics", "eventTime")}
    metrics = batch_metrics({**bare, "name": None})
    assert metrics.query_name == "3f1c" and metrics.rows_dropped_by_watermark == 0
    assert metrics.readings_rejected is None and metrics.watermark is None


def test_the_simulator_is_deterministic(tmp_path: Path):
    def simulate(folder):
        fleet = simulator.Fleet(4, 0.5, frozenset({"EQ-0002"}), seed=11)
        return simulator.write_files(fleet, folder, T0, 120, file_seconds=30)

    first, second = simulate(tmp_path / "a"), simulate(tmp_path / "b")
    assert [p.name for p in first] == [p.name for p in second]
    assert [p.read_text() for p in first] == [p.read_text() for p in second]
    lines = [json.loads(line) for p in first for line in p.read_text().splitlines()]
    assert len(lines) == 4 * 60 and len(first) == 4
    hot = [r["temperature_c"] for r in lines if r["equipment_id"] == "EQ-0002"]
    normal = [r["temperature_c"] for r in lines if r["equipment_id"] != "EQ-0002"]
    assert all(140 <= t <= 160 for t in hot) and all(40 <= t <= 90 for t in normal)
    assert {r["model"] for r in lines} <= set(simulator.MODELS)


def test_the_alert_email_names_what_happened():
    window = WindowStat("EX-7", T0, T0 + timedelta(minutes=10), "EX200", 131.25, 140.0, 20)
    [notice] = evaluate({}, [window], Thresholds(110.0), AlertPolicy(5.0, None)).notices
    message = alert_mail.compose(notice, "fw@plant", ["ops@plant", "chief@plant"])
    assert message["To"] == "ops@plant, chief@plant"
    assert message["Message-ID"] == f"<{notice.message_id}@fleetwatch>"
    assert "EX-7 (EX200) running hot: average 131.2 °C > 110.0 °C" in message["Subject"]
    text = message.get_content()
    for expected in ("Equipment:   EX-7", "Model:       EX200", "Average:     131.2 °C",
                     "Maximum:     140.0 °C", "Threshold:   110.0 °C",
                     "Window:      2024-05-01 10:00:00 UTC – 2024-05-01 10:10:00 UTC"):
        assert expected in text
    assert notice.kind is Kind.ALERT


def test_simulate_temperatures_writes_everything_at_once_ending_now(tmp_path: Path):
    from spark_app.cli import main

    assert main(["simulate", "temperatures", "--out", str(tmp_path), "--equipment", "2",
                 "--duration", "120", "--seed", "3", "--hot", "EQ-0001"]) == 0
    lines = [json.loads(line) for path in sorted(tmp_path.glob("*.jsonl"))
             for line in path.read_text().splitlines()]
    assert len(lines) == 2 * 120
    last = max(datetime.fromisoformat(line["ts"].replace("Z", "+00:00")) for line in lines)
    assert abs((datetime.now(UTC) - last).total_seconds()) < 5
    assert {line["equipment_id"] for line in lines if line["temperature_c"] > 130} == {"EQ-0001"}


def test_thresholds_come_from_the_database_and_survive_its_outage(tmp_path: Path):
    from sqlalchemy import create_engine, insert

    from schemas.relational import TemperatureThreshold
    from spark_app.alerts.thresholds import ThresholdSource
    from spark_app.common.relational import create_tables

    engine = create_engine(f"sqlite:///{tmp_path / 'fw.db'}")
    create_tables(engine)
    with engine.begin() as connection:
        connection.execute(insert(TemperatureThreshold), [
            {"equipment_id": None, "model": "EX200", "threshold_c": 120.0},
            {"equipment_id": "EQ-9", "model": None, "threshold_c": 95.0}])
    clock = [0.0]
    source = ThresholdSource(engine, 110.0, refresh_s=60, clock=lambda: clock[0])
    assert source.current() == Thresholds(110.0, {"EX200": 120.0}, {"EQ-9": 95.0})
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE temperature_thresholds")
    clock[0] = 61.0  # refresh due, and the table is gone: the last thresholds stay
    assert source.current().for_equipment("EQ-9", None) == 95.0
