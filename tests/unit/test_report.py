"""`fleetwatch report`'s refusals, and the pure parts of the page: stage names,
links, text that must not end the page's scripts."""

import os
import subprocess
import sys
from datetime import date, datetime

from spark_app.common.config import load_config
from spark_app.common.relational import create_tables, engine_for_url
from spark_app.report.page import ReportData, render
from spark_app.report.relational import Period, stage_seconds
from spark_app.report.settings import ReportSettings

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]


def fleetwatch(*args, env=None):
    return subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_days_must_be_a_positive_whole_number():
    for days in ("0", "-3", "thirty"):
        refused = fleetwatch("report", "--days", days)
        assert refused.returncode == 2, days
        assert "--days must be a whole number of days, 1 to 3660" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_without_a_run_there_is_no_default_day(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    create_tables(engine_for_url(url))
    refused = fleetwatch("report", env={"FLEETWATCH_DATABASE_URL": url})
    assert refused.returncode == 2
    assert refused.stderr == ("fleetwatch report: the daily job has not run yet: give the "
                              "report's last day with --day YYYY-MM-DD\n")
    assert not (tmp_path / "reports").exists()


def test_stage_seconds_sum_the_same_step_and_drop_the_day():
    metrics = ('[{"description": "read faults of 2016-11-15", "duration_s": 1.25},'
               ' {"description": "read faults of 2016-11-15", "duration_s": 2.5},'
               ' {"name": "collect at job.py:12", "duration_s": 0.5},'
               ' {"description": "upsert violations of 2016-11-15", "duration_s": null},'
               ' {"error": "stage metrics unavailable: refused"}]')
    assert stage_seconds(metrics) == {"read faults of D": 3.75, "collect at job.py:12": 0.5}
    assert stage_seconds(None) == {}


def test_the_page_path_and_the_digest_link_follow_the_configuration(tmp_path):
    settings = load_config(environ={"FLEETWATCH_REPORT_DIR": str(tmp_path),
                                    "FLEETWATCH_REPORT_BASE_URL": "https://fleet.example/r/"}
                           ).settings(ReportSettings)
    assert settings.path_for(date(2016, 11, 17)) == tmp_path / "2016-11-17.html"
    assert settings.url_for(date(2016, 11, 17)) == "https://fleet.example/r/2016-11-17.html"
    assert load_config(environ={}).settings(ReportSettings).url_for(date(2016, 11, 17)) is None


def test_text_from_the_data_cannot_end_the_pages_scripts():
    hostile = "</script><script>alert(1)</script><!--"
    data = ReportData(
        period=Period(date(2016, 11, 15), date(2016, 11, 17)), violations_per_day=[],
        top_rules=[{"rule_id": 1, "model": "JAP", "severity": "info", "label": hostile,
                    "new": 1, "already_open": 0}],
        states_per_site_model=[],
        top_open_serials=[{"serial_number": "JAP001", "site": hostile, "open": 1,
                           "last_ts": datetime(2016, 11, 16)}],
        open_violations={"JAP001": [{"id": 7, "rule_id": 1, "severity": "info",
                                     "description": hostile, "ts": datetime(2016, 11, 16),
                                     "detected_at": datetime(2016, 11, 17)}]},
        runs=[], breach_episodes=[], window_averages=[], rejects_per_day=[],
        rejects_by_reason=[], generated_at=datetime(2016, 11, 18))
    page = render(data)
    # only the bundle's and the charts' script elements end: the data's "</script" is escaped
    assert page.lower().count("</script") == 2
    assert "<\\/script><script>alert(1)<\\/script>" in page  # in the chart's spec
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page  # in the serial's list
    assert "<!--" not in page
    assert 'id="serial-JAP001"' in page
