"""The `fleetwatch` command's stable interface for rules, through a subprocess
(`python -m spark_app.cli` is the console script's entry point)."""

import subprocess
import sys

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]


def fleetwatch(*args):
    return subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True, timeout=120)


def test_rules_check_valid_and_invalid():
    assert fleetwatch("rules", "check", "#1.123.456.789 E:60 #2.234.345.456 tti:120").returncode == 0
    refused = fleetwatch("rules", "check", "#A OU")
    assert refused.returncode == 2
    assert "column 6" in refused.stderr and refused.stdout == ""


def test_rules_eval_prints_sorted_csv_with_milliseconds(tmp_path):
    faults = tmp_path / "faults.csv"
    faults.write_text("serial_number,tag,timestamp\n"
                      "JAP00200,#A,2016-11-16T13:00:30Z\n"
                      "JAP00100,#B,2016-11-16T13:00:10.250Z\n"
                      "JAP00100,#A,2016-11-16T13:00:00Z\n"
                      "JAP00200,#B,2016-11-16T13:05:00Z\n")
    result = fleetwatch("rules", "eval", "#A E:20 #B", "--faults", str(faults))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["serial_number,timestamp",
                                          "JAP00100,2016-11-16T13:00:10.250Z"]


def test_rules_eval_stops_at_a_malformed_row_with_its_line(tmp_path):
    faults = tmp_path / "faults.csv"
    faults.write_text("serial_number,tag,timestamp\nJAP00100,#A,2016-11-16T13:00:00Z\n"
                      "JAP00100,#A,yesterday\n")
    result = fleetwatch("rules", "eval", "#A", "--faults", str(faults))
    assert result.returncode == 2 and "line 3" in result.stderr


def test_daily_refuses_a_day_the_pipeline_cannot_represent():
    for args in (["--day", "0001-01-02"], ["--day", "1677-09-21"],
                 ["--day", "2262-04-01", "--to", "2262-04-11"]):
        refused = fleetwatch("daily", *args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert "is outside the days the pipeline can represent (1677-09-22 .. 2262-04-10)" \
            in refused.stderr
        assert "Traceback" not in refused.stderr


def test_the_first_and_last_representable_days_are_days_the_job_runs():
    from datetime import date

    from spark_app.daily.main import days_between

    assert days_between(date(1677, 9, 22), None) == [date(1677, 9, 22)]
    assert days_between(date(2262, 4, 9), date(2262, 4, 10)) == \
        [date(2262, 4, 9), date(2262, 4, 10)]
