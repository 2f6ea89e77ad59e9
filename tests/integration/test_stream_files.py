"""The temperature stream over files, end to end on the real services: files ->
Spark windows -> Cassandra -> alert e-mail received by the loopback SMTP server.
Every run is an available-now run of the real queries on the suite's Spark."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from schemas.relational import TemperatureThreshold
from spark_app.common.relational import engine_from_config
from spark_app.stream import main as stream_main
from tests.support.stream import (
    STREAM_TABLES,
    T0,
    body_value,
    degrees,
    drop_file,
    emails_about,
    new_sink,
    reading_lines,
    stream_config,
    unique_id,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def clean_alert_tables(cassandra):
    for table in STREAM_TABLES:
        cassandra.execute(f"TRUNCATE {table}")


def run_stream(spark, config):
    return stream_main.run(config, available_now=True, spark=spark)


def utc(instant):
    return instant.replace(tzinfo=UTC)


def test_breach_alert_survives_a_restart_and_recovers_once(spark, cassandra, tmp_path):
    hot, cool, by_model = unique_id("HOT"), unique_id("COOL"), unique_id("MODELX")
    readings = tmp_path / "readings"
    with new_sink(tmp_path) as sink:
        config = stream_config(tmp_path, sink.port)
        with engine_from_config(config).begin() as connection:  # the DB overrides the default
            connection.execute(insert(TemperatureThreshold).values(model="WA600", threshold_c=90.0))

        # 10:00-10:20 -- HOT heats up from 60 to 150 at 10:10; COOL stays at 60;
        # MODELX at 100 is fine by the default (110) but not by its model's 90
        drop_file(readings, "a.jsonl",
                  reading_lines(hot, "EX200", 0, 10, 60.0) + reading_lines(hot, "EX200", 10, 20, 150.0)
                  + reading_lines(cool, "HD785", 0, 20, 60.0)
                  + reading_lines(by_model, "WA600", 0, 20, 100.0), age_s=30)
        first = run_stream(spark, config)
        alerts = emails_about(sink, hot)
        assert [m["X-Fleetwatch-Kind"] for m in alerts] == ["alert"]
        alert = alerts[0]
        assert hot in alert["Subject"] and "EX200" in alert["Subject"]
        assert body_value(alert, "Model") == "EX200"
        assert degrees(body_value(alert, "Threshold")) == 110.0
        average = degrees(body_value(alert, "Average"))
        assert 110.0 < average < 150.0
        assert degrees(body_value(alert, "Maximum")) == 150.0
        # the e-mail's window is the stored window, same average
        window_end = datetime.strptime(body_value(alert, "Window").split(" – ")[1],
                                       "%Y-%m-%d %H:%M:%S UTC")
        stored = cassandra.execute(
            cassandra.prepare("SELECT avg_c, max_c, readings, model, TTL(avg_c) AS ttl "
                              "FROM temperature_windows WHERE equipment_id = ? "
                              "AND window_start = ? AND window_end = ?"),
            (hot, window_end - timedelta(minutes=10), window_end)).one()
        assert stored.model == "EX200" and round(stored.avg_c, 1) == average
        assert stored.readings == 20 and 0 < stored.ttl <= config.get("stream", "windows_ttl_s")
        assert emails_about(sink, cool) == []
        model_alert = emails_about(sink, by_model)
        assert len(model_alert) == 1 and degrees(body_value(model_alert[0], "Threshold")) == 90.0
        assert first.notices["alert"] == 2 and first.emails_sent == 2

        # 10:20-10:30 still hot -- a new run from the checkpoint: nothing new
        drop_file(readings, "b.jsonl", reading_lines(hot, "EX200", 20, 30, 150.0), age_s=20)
        second = run_stream(spark, config)
        assert len(emails_about(sink, hot)) == 1
        assert second.windows_evaluated > 0 and sum(second.notices.values()) == 0

        # 10:30-10:50 cooled down -- one recovery, once
        drop_file(readings, "c.jsonl", reading_lines(hot, "EX200", 30, 50, 50.0), age_s=10)
        run_stream(spark, config)
        run_stream(spark, config)  # nothing new to read: nothing new to say
        kinds = [m["X-Fleetwatch-Kind"] for m in emails_about(sink, hot)]
        assert kinds == ["alert", "recovery"]
        recovery = emails_about(sink, hot)[1]
        assert "back to normal" in recovery["Subject"]
        assert degrees(body_value(recovery, "Average")) < 105.0

        state = cassandra.execute(
            cassandra.prepare("SELECT alerting, notices, last_window_end FROM temperature_alerts "
                              "WHERE equipment_id = ?"), (hot,)).one()
        assert state.alerting is False and state.notices == 2
        assert utc(state.last_window_end) <= T0 + timedelta(minutes=51)


def test_mail_queued_while_smtp_is_down_is_sent_once_it_is_back(spark, cassandra, tmp_path):
    hot = unique_id("HOT-SMTP")
    sink = new_sink(tmp_path)  # not started: the SMTP server is down
    config = stream_config(tmp_path, sink.port)
    drop_file(tmp_path / "readings", "a.jsonl", reading_lines(hot, "EX200", 0, 15, 150.0))

    report = run_stream(spark, config)
    assert report.notices["alert"] == 1 and report.emails_sent == 0
    assert report.emails_pending >= 1 and "Connection refused" in report.last_delivery_error
    queued = cassandra.execute(
        cassandra.prepare("SELECT message_id, attempts, last_error, sent_at FROM mail_outbox "
                          "WHERE message_id IN ?"),
        ([row.message_id for row in cassandra.execute("SELECT message_id FROM mail_pending")],))
    mine = [row for row in queued if row.sent_at is None and row.attempts]
    assert mine and all("refused" in row.last_error for row in mine)

    with sink:
        # back up: the next run delivers before and after reading (nothing new here)
        run_stream(spark, config)
        run_stream(spark, config)
        messages = emails_about(sink, hot)
    assert [m["X-Fleetwatch-Kind"] for m in messages] == ["alert"]
    assert hot in messages[0]["Subject"]


def test_malformed_and_late_readings_are_counted_and_kept_aside(spark, cassandra, tmp_path):
    equipment = unique_id("LATE")
    readings = tmp_path / "readings"
    config = stream_config(tmp_path, new_sink(tmp_path).port,
                           FLEETWATCH_STREAM_MAX_FILES_PER_TRIGGER="1")
    # batch 1: on time, 10:00-10:20 -> watermark 10:17:30
    drop_file(readings, "a.jsonl", reading_lines(equipment, "EX200", 0, 20, 70.0), age_s=20)
    malformed = {
        "{not json": "not a JSON object",
        '{"ts": "2024-05-01T10:21:00Z", "temperature_c": 70}': "missing equipment_id",
        f'{{"equipment_id": "{equipment}", "ts": "yesterday", "temperature_c": 70}}':
            "missing or unreadable ts (ISO 8601 expected)",
        f'{{"equipment_id": "{equipment}", "ts": "2024-05-01T10:21:00Z", "temperature_c": "hot"}}':
            "temperature_c missing or not a number",
        f'{{"equipment_id": "{equipment}", "ts": "2024-05-01T10:21:00Z", "temperature_c": 900}}':
            "temperature_c outside the physically possible range",
        f"{equipment},2024-05-01T10:21:00Z,-80.5": "temperature_c outside the physically possible range",
        f"{equipment},2024-05-01T10:21:00Z": "CSV needs 3 or 4 fields: equipment_id,ts,temperature_c[,model]",
        f'{{"equipment_id": "{equipment}", "ts": "2999-01-01T00:00:00Z", "temperature_c": 70}}':
            "ts ahead of the reading's arrival",
    }
    # batch 2: readings from 09:30-09:40, far behind the watermark (and very hot:
    # had they been counted, the windows and an alert would show it), the
    # malformed lines, and a good CSV reading with its header
    late = reading_lines(equipment, "EX200", -30, -20, 300.0)
    good_csv = ["equipment_id,ts,temperature_c,model", f"{equipment},2024-05-01T10:20:30Z,71.0,EX200"]
    second = drop_file(readings, "b.jsonl", late + list(malformed) + good_csv, age_s=10)

    report = run_stream(spark, config)
    totals = report.metrics["temperature_windows"]
    assert totals["readings_rejected"] == len(malformed)
    assert totals["readings_valid"] == 40 + len(late) + 1
    assert totals["rows_dropped_by_watermark"] > 0

    # the late readings changed no window and caused no alert
    starts = [utc(row.window_start) for row in cassandra.execute(
        cassandra.prepare("SELECT window_start, max_c FROM temperature_windows "
                          "WHERE equipment_id = ?"), (equipment,))]
    assert starts and min(starts) >= T0 - timedelta(minutes=9)
    assert report.notices == {}

    day = datetime.fromtimestamp(second.stat().st_mtime, tz=UTC).date()
    kept = cassandra.execute(
        cassandra.prepare("SELECT source, record_key, reason, payload FROM rejected_readings "
                          "WHERE day = ? AND source = ?"), (day, f"file:{second}"))
    assert {row.payload: row.reason for row in kept} == malformed

    recorded = cassandra.execute(
        cassandra.prepare("SELECT readings_rejected, rows_dropped_by_watermark "
                          "FROM stream_metrics WHERE query_name = ? AND day IN ?"),
        ("temperature_windows", [day - timedelta(days=1), day, day + timedelta(days=1)]))
    rows = list(recorded)
    assert sum(row.readings_rejected or 0 for row in rows) >= len(malformed)
    assert sum(row.rows_dropped_by_watermark or 0 for row in rows) >= \
        totals["rows_dropped_by_watermark"]
