"""The `fleetwatch` command's stable interface for rules, through a subprocess
(`python -m spark_app.cli` is the console script's entry point)."""

import os
import subprocess
import sys

import pytest

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]


def fleetwatch(*args, env=None):
    return subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


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


def test_the_daily_application_is_named_after_its_days():
    from datetime import date

    from spark_app.daily.main import app_name

    assert app_name([date(2016, 11, 18)]) == "fleetwatch-daily-2016-11-18"
    assert app_name([date(2016, 11, 18), date(2016, 11, 19), date(2016, 11, 20)]) == \
        "fleetwatch-daily-2016-11-18..2016-11-20"


def _first_lines_then_close(args, lines: int = 2) -> tuple[list[str], int, str]:
    """What `fleetwatch ARGS | head -LINES` sees: the first lines, then a closed pipe."""
    process = subprocess.Popen([*FLEETWATCH, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    first = [process.stdout.readline() for _ in range(lines)]
    process.stdout.close()
    stderr = process.stderr.read()
    return first, process.wait(timeout=120), stderr


def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path):
    faults = tmp_path / "faults.csv"
    # 40,000 violations: far more than a pipe buffers, so writing meets the closed pipe
    faults.write_text("serial_number,tag,timestamp\n" + "".join(
        f"JAP{n % 7:05d},#A,2016-11-16T13:{n // 3600 % 60:02d}:{n // 60 % 60:02d}.{n % 60:03d}Z\n"
        for n in range(40_000)))
    first, returncode, stderr = _first_lines_then_close(["rules", "eval", "#A",
                                                         "--faults", str(faults)])
    assert first == ["serial_number,timestamp\n", "JAP00000,2016-11-16T13:00:00.000Z\n"]
    assert (returncode, stderr) == (141, "")


def test_violations_piped_into_head_end_quietly(tmp_path):
    from datetime import datetime

    from sqlalchemy import insert

    from schemas.relational import Rule, Violation
    from spark_app.common.relational import create_tables, engine_for_url

    url = f"sqlite:///{tmp_path / 'fleetwatch.db'}"
    engine = engine_for_url(url)
    create_tables(engine)
    with engine.begin() as connection:
        connection.execute(insert(Rule), [{"id": 1, "model": "JAP", "expression": "#A",
                                           "active": True}])
        connection.execute(insert(Violation), [
            {"rule_id": 1, "serial_number": f"JAP{n:05d}", "ts": datetime(2016, 11, 16, 13, 34),
             "detected_at": datetime(2016, 11, 17, 0, 31)} for n in range(20_000)])
    engine.dispose()
    process = subprocess.Popen([*FLEETWATCH, "violations", "--format", "csv"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "FLEETWATCH_DATABASE_URL": url})
    first = [process.stdout.readline() for _ in range(2)]
    process.stdout.close()
    stderr = process.stderr.read()
    assert first == ["rule_id,serial_number,timestamp\n",
                     "1,JAP00000,2016-11-16T13:34:00.000Z\n"]
    assert (process.wait(timeout=120), stderr) == (141, "")


def test_version_and_one_wording_for_a_bad_day():
    version = fleetwatch("--version")
    assert version.returncode == 0 and version.stdout == "fleetwatch 0.1.0\n"
    for args in (["daily", "--day", "2016-13-01"], ["runs", "--day", "2016-13-01"],
                 ["simulate", "faults", "--out", "x.jsonl", "--start", "2016-13-01"]):
        refused = fleetwatch(*args)
        assert refused.returncode == 2
        assert "not a day (YYYY-MM-DD): '2016-13-01'" in refused.stderr, refused.stderr


@pytest.mark.parametrize("args, message", [
    (["simulate", "faults", "--out", "x.jsonl", "--serials", "x"],
     "argument --serials: not a whole number above 0 (1, 2, 3, …): 'x'"),
    (["simulate", "faults", "--out", "x.jsonl", "--serials", "-5"],
     "argument --serials: not a whole number above 0 (1, 2, 3, …): '-5'"),
    (["simulate", "faults", "--out", "x.jsonl", "--late-fraction", "2"],
     "argument --late-fraction: not a fraction (a number from 0 to 1): '2'"),
    (["simulate", "feed", "--port", "99999"],
     "argument --port: not a TCP port (1 to 65535): '99999'"),
    (["simulate", "temperatures", "--out", "t", "--rate", "0"],
     "argument --rate: not a number above 0: '0'"),
    (["simulate", "temperatures", "--out", "t", "--start", "yesterday"],
     "argument --start: not an instant (ISO 8601, e.g. 2016-11-17T00:30:00Z): 'yesterday'"),
    (["ingest-status", "--since", "2016-11-17 25:00"],
     "argument --since: not an instant (ISO 8601, e.g. 2016-11-17T00:30:00Z): "
     "'2016-11-17 25:00'"),
    (["violations", "--rule", "seven"], "argument --rule: not a whole number (0, 1, 2, …): 'seven'"),
    (["rules", "disable", "x"], "argument ID: not a whole number (0, 1, 2, …): 'x'"),
    (["violations", "--day", "2016-11-31"], "argument --day: not a day (YYYY-MM-DD): '2016-11-31'"),
    (["daily", "--day", "2016-11-17", "--to", "17/11/2016"],
     "argument --to: not a day (YYYY-MM-DD): '17/11/2016'"),
])
def test_one_wording_for_a_bad_value_of_every_kind(args, message):
    refused = fleetwatch(*args)
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.splitlines()[-1].endswith(message), refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_file_that_cannot_be_read_or_written_is_named(tmp_path):
    for args in (["rules", "import", str(tmp_path / "missing.csv")],
                 ["simulate", "faults", "--out", str(tmp_path / "no" / "x.jsonl"), "--days", "1",
                  "--faults-per-day", "10"]):
        refused = fleetwatch(*args, env={"FLEETWATCH_DATABASE_URL":
                                         f"sqlite:///{tmp_path / 'fleetwatch.db'}"})
        assert refused.returncode == 2, refused.stderr
        named = tmp_path / ("missing.csv" if args[0] == "rules" else "no/x.jsonl")
        assert refused.stderr == f"fleetwatch: no such file or folder: {named}\n"


def test_a_misspelled_variable_stops_every_command_naming_the_closest():
    refused = fleetwatch("runs", env={"FLEETWATCH_CASANDRA_HOSTS": "cass1"})
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr == (
        "fleetwatch: configuration error: unknown environment variable "
        "FLEETWATCH_CASANDRA_HOSTS: did you mean FLEETWATCH_CASSANDRA_HOSTS? "
        "(unset it, or rename it)\n")


def test_the_log_level_comes_from_the_option_or_the_environment():
    refused = fleetwatch("runs", env={"FLEETWATCH_LOG_LEVEL": "loud"})
    assert refused.returncode == 2
    assert refused.stderr.endswith("fleetwatch: error: FLEETWATCH_LOG_LEVEL must be one of "
                                   "debug, info, warning, error, got 'loud'\n")
    bad_option = fleetwatch("--log-level", "loud", "runs")
    assert bad_option.returncode == 2 and "argument --log-level: invalid choice: 'loud'" in \
        bad_option.stderr
    assert fleetwatch("-v", "-q", "runs").returncode == 2  # one or the other


def test_a_database_url_that_is_not_one_is_a_configuration_error_without_the_password():
    result = fleetwatch("runs", env={
        "FLEETWATCH_DATABASE_URL": "postgresql+psycopg://fleet:s3cret@db.example:port/fleet"})
    assert (result.returncode, result.stdout, result.stderr) == (2, "", (
        "fleetwatch: configuration error: database.url (FLEETWATCH_DATABASE_URL) is not a "
        "database URL (dialect+driver://user@host:port/database)\n"))
