"""The fleet report end to end: gathered from a real database and a real Cassandra
(through Spark), written as one page, opened in a real headless Chromium with
nothing but the page itself to load."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from spark_app.common.config import load_config
from spark_app.common.relational import create_tables, engine_for_url
from spark_app.report.build import gather, write_page
from tests.support.report_data import seed_fleet
from tests.support.report_page import CHROMIUM, visit

LAST_DAY = date(2016, 11, 28)
DAYS = 21
CHARTS = ["violations-per-day", "top-rules", "states", "top-serials", "run-stages", "run-counts",
          "breaches", "windows", "ingestion", "reject-reasons"]
README_SCREENSHOT = Path(__file__).resolve().parents[1] / "data" / "report-screenshot.png"


@pytest.fixture
def report_config(tmp_path, cassandra, spark):
    url = f"sqlite:///{tmp_path / 'fleetwatch.db'}"
    engine = engine_for_url(url)
    create_tables(engine)
    seed_fleet(engine, LAST_DAY, DAYS)
    insert_reject = cassandra.prepare(
        "INSERT INTO ingest_rejects (source, position, reason, payload, rejected_at) "
        "VALUES (?, ?, ?, ?, ?)")
    for n in range(60):  # rejects spread over the period, under sources of this test only
        at = datetime.combine(LAST_DAY, datetime.min.time()) - timedelta(hours=7 * n)
        reason = ("not valid JSON: Expecting value", "ts is not an ISO 8601 timestamp: 'x'",
                  "kind must be 'event' or 'diagnostic', got 'boot'")[n % 3]
        cassandra.execute(insert_reject, (f"report-test/{n // 10}.jsonl", n, reason, "{", at))
    insert_window = cassandra.prepare(
        "INSERT INTO temperature_windows (equipment_id, window_start, window_end, model, avg_c, "
        "max_c, readings) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL 3600")
    start = datetime(2016, 11, 28, 8)
    for minute in range(0, 240, 5):  # 4 hours of one engine warming well past 110 °C
        at = start + timedelta(minutes=minute)
        cassandra.execute(insert_window, ("EQ-REPORT-HOT", at, at + timedelta(minutes=10),
                                          "CAT", 100.0 + minute / 4, 105.0 + minute / 4, 60))
    yield load_config(environ={**os.environ, "FLEETWATCH_DATABASE_URL": url})
    engine.dispose()


def test_report_renders_every_chart_offline_in_chromium(report_config):
    assert CHROMIUM.exists(), "Debian's chromium is missing: `make chromium` installs it"
    data = gather(report_config, None, DAYS)
    assert (data.period.first, data.period.last) == (date(2016, 11, 8), LAST_DAY)
    assert sum(row["rejects"] for row in data.rejects_by_reason) == 60
    assert "EQ-REPORT-HOT" in {row["equipment_id"] for row in data.window_averages}

    page = write_page(data, report_config.var_dir / "test" / "report" / "report.html")
    assert page.stat().st_size < 5 * 1024 * 1024
    screenshot = report_config.var_dir / "report-screenshot.png"
    seen = visit(page, screenshot)

    assert seen.console_errors == []
    assert set(seen.requests) == {page.resolve().as_uri()}  # the page itself, nothing else
    assert seen.rendered == "yes"
    assert list(seen.charts) == CHARTS
    for chart in CHARTS:
        assert seen.charts[chart] > 10, chart  # marks, axes and labels were drawn
        width, height = seen.chart_sizes[chart]
        assert width > 100 and height > 50, (chart, width, height)
    # Under 2 s of the browser's work. The wall clock (navigation to the last chart) is
    # printed: on an idle machine it is about the CPU time; on a shared one, much more.
    print(f"report page: {page.stat().st_size:,} bytes, drawn after {seen.load_seconds:.2f}s, "
          f"{seen.main_thread_cpu_seconds:.2f}s of the main thread's CPU")
    assert seen.main_thread_cpu_seconds < 2.0
    assert screenshot.stat().st_size > 50_000
    if os.environ.get("FLEETWATCH_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(screenshot, README_SCREENSHOT)
