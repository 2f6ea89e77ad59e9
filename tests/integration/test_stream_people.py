"""The temperature stream with the fleet's registry, routes and silences, on
the real services: the hold time (stream.alert_for) delays the alert, each
breach is an episode in temperature_breaches, the e-mail goes to the route of
the machine's site, and a silenced machine gets no e-mail but its episode."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from schemas.relational import TemperatureBreach
from spark_app.common.relational import engine_from_config
from spark_app.people.routes import RouteStore
from spark_app.people.silences import SilenceStore
from spark_app.stream import main as stream_main
from tests.support.stream import (
    STREAM_TABLES,
    T0,
    body_value,
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


def instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S UTC")


def test_hold_time_episodes_routes_and_a_silenced_machine(spark, cassandra, tmp_path):
    routed, silenced = unique_id("HOT-N"), unique_id("HOT-S")
    with new_sink(tmp_path) as sink:
        config = stream_config(tmp_path, sink.port, FLEETWATCH_STREAM_ALERT_FOR="5 minutes",
                               FLEETWATCH_SMTP_RECIPIENTS="ops@plant.example")
        engine = engine_from_config(config)
        registry = tmp_path / "equipment.csv"
        registry.write_text("serial_number,model,site,team\n"
                            f"{routed},EX200,north,engines\n{silenced},EX200,south,engines\n")
        from spark_app.people.registry import EquipmentRegistry
        EquipmentRegistry(engine).import_csv(registry)
        RouteStore(engine).add("north@plant.example", site="north")
        SilenceStore(engine).add(serial_number=silenced, starts=T0, until=T0 + timedelta(hours=2),
                                 reason="planned maintenance", created_by="ana")

        # 10:00-10:20 hot (150 C), then 10:20-10:40 cool (50 C)
        lines = []
        for equipment in (routed, silenced):
            lines += reading_lines(equipment, "EX200", 0, 20, 150.0)
            lines += reading_lines(equipment, "EX200", 20, 40, 50.0)
        drop_file(tmp_path / "readings", "a.jsonl", lines)
        stream_main.run(config, available_now=True, spark=spark)

        mails = emails_about(sink, routed)
        assert [(m["X-Fleetwatch-Kind"], m["To"]) for m in mails] == [
            ("alert", "north@plant.example"), ("recovery", "north@plant.example")]
        alert = mails[0]
        since = instant(body_value(alert, "Breach since").removeprefix("window ending "))
        alerted_at = instant(body_value(alert, "Window").split(" – ")[1])
        assert alerted_at - since >= timedelta(minutes=5)
        assert emails_about(sink, silenced) == []

    t = TemperatureBreach.__table__.c
    with engine.connect() as connection:
        episodes = {row.equipment_id: row for row in connection.execute(
            select(t.equipment_id, t.model, t.threshold_c, t.started_at, t.ended_at,
                   t.peak_average_c, t.emails_sent, t.silenced)
            .where(t.equipment_id.in_([routed, silenced])))}
    assert sorted(episodes) == sorted([routed, silenced])
    hot = episodes[routed]
    assert (hot.model, hot.threshold_c, hot.peak_average_c, hot.emails_sent, hot.silenced) == (
        "EX200", 110.0, 150.0, 2, False)
    assert hot.started_at == since.replace(tzinfo=None)
    assert T0.replace(tzinfo=None) + timedelta(minutes=20) < hot.ended_at \
        <= T0.replace(tzinfo=None) + timedelta(minutes=40)
    quiet = episodes[silenced]
    assert (quiet.peak_average_c, quiet.emails_sent, quiet.silenced) == (150.0, 0, True)
    assert quiet.started_at == hot.started_at and quiet.ended_at == hot.ended_at
    with engine.connect() as connection:  # the analysts' view adds site and team
        assert connection.execute(text(
            "SELECT equipment_id, site, team, emails_sent FROM temperature_breaches_detail "
            "WHERE equipment_id IN (:a, :b) ORDER BY site"), {"a": routed, "b": silenced}
        ).all() == [(routed, "north", "engines", 2), (silenced, "south", "engines", 0)]
