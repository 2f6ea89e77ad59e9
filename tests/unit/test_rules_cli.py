"""`python -m rules check|eval`: exit codes, exact CSV output, messages naming lines."""
import io
import subprocess
import sys
from pathlib import Path

import pytest

from rules.cli import eval_csv

REPO = Path(__file__).parents[2]
HEADER = "serial_number,tag,timestamp\n"


def run_rules(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rules", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "faults.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_accepts_a_valid_rule():
    done = run_rules("check", "( #A E:20 #B ) OU ( #C E:30 #D ) tti:40")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_check_refuses_with_the_column():
    done = run_rules("check", "#1.2.3.4 OU")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "invalid rule: column 12: expected a tag or '(' after 'OU', found end of rule\n")


def test_eval_prints_violations_sorted_by_serial_then_time(tmp_path):
    faults = write(tmp_path, HEADER + "\n".join([
        "JAP2,#A,2016-11-16T13:01:10Z",
        "JAP1,#A,2016-11-16T13:00:00Z",
        "JAP1,#B,2016-11-16T13:00:10.000Z",
        "JAP2,#B,2016-11-16T13:01:20.250+00:00",
        "JAP1,#A,2016-11-16T13:01:10Z",
        "JAP1,#B,2016-11-16T13:01:20Z",
        "JAP1,#C,2016-11-16T13:00:05Z",
        "JAP1,#D,2016-11-16T13:00:30Z",
    ]) + "\n")
    done = run_rules("eval", "( #A E:20 #B ) OU ( #C E:30 #D ) tti:40", "--faults", faults)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "serial_number,timestamp\n"
        "JAP1,2016-11-16T13:00:10.000Z\n"
        "JAP1,2016-11-16T13:01:20.000Z\n"
        "JAP2,2016-11-16T13:01:20.250Z\n")


def test_eval_without_violations_prints_the_header(tmp_path):
    faults = write(tmp_path, HEADER + "S1,#A,2016-11-16T13:00:00Z\n")
    done = run_rules("eval", "#Z", "--faults", faults)
    assert (done.returncode, done.stdout, done.stderr) == (0, "serial_number,timestamp\n", "")


def test_eval_of_an_invalid_rule(tmp_path):
    done = run_rules("eval", "#A E #B", "--faults", write(tmp_path, HEADER))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "invalid rule: column 6: expected ':' after 'E', found tag '#B'\n"


def test_eval_names_the_bad_line(tmp_path):
    faults = write(tmp_path, HEADER + "S1,#A,2016-11-16T13:00:00Z\n\nS1,#A,2016-11-16T25:00:00Z\n")
    done = run_rules("eval", "#A", "--faults", faults)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"{faults}: line 4: ")


def test_eval_of_a_missing_file(tmp_path):
    done = run_rules("eval", "#A", "--faults", str(tmp_path / "absent.csv"))
    assert done.returncode == 2
    assert "absent.csv" in done.stderr


def test_usage_errors_exit_2():
    assert run_rules("eval", "#A").returncode == 2  # argparse: --faults is required


# In-process, for the many ways a file can be wrong.

def evaluate_file(tmp_path, text: str, rule: str = "#A") -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = eval_csv(rule, write(tmp_path, text), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("text, line, reason", [
    ("", 1, "expected the header serial_number,tag,timestamp, found nothing"),
    ("serial,tag,timestamp\n", 1, "expected the header"),
    (HEADER + "S1,#A\n", 2, "expected 3 fields"),
    (HEADER + "S1,#A,2016-11-16T13:00:00Z,x\n", 2, "expected 3 fields"),
    (HEADER + "S1,#A,2016-11-16T13:00:00Z\nS1,#A,yesterday\n", 3, "not an ISO 8601 UTC timestamp"),
    (HEADER + "S1,#A,2016-11-16T13:00:00+01:00\n", 2, "not in UTC"),
    (HEADER + "S1,#A,2016-11-16T13:00:00\n", 2, "not an ISO 8601 UTC timestamp"),
    (HEADER + "S1,#A,2016-02-30T13:00:00Z\n", 2, "impossible timestamp"),
    (HEADER + "S1,#A,2016-11-16T13:00:00.1234Z\n", 2, "not an ISO 8601 UTC timestamp"),
    (HEADER + "S1,A,2016-11-16T13:00:00Z\n", 2, "not a tag"),
    (HEADER + "S1,#A OU #B,2016-11-16T13:00:00Z\n", 2, "not a tag"),
    (HEADER + "S1, #A,2016-11-16T13:00:00Z\n", 2, "not a tag"),
    (HEADER + ",#A,2016-11-16T13:00:00Z\n", 2, "empty serial_number"),
    (HEADER + 'S1,#A,"2016-11-16T13:00:00Z\n', 2, "unexpected end of data"),
    (HEADER + 'S1,#A,2016-11-16T13:00:00Z\n"S1"x,#A,2016-11-16T13:00:00Z\n', 3, "expected after"),
])
def test_malformed_files(tmp_path, text, line, reason):
    code, stdout, stderr = evaluate_file(tmp_path, text)
    assert (code, stdout) == (2, "")
    assert f": line {line}: " in stderr
    assert reason in stderr


def test_non_utf8_file(tmp_path):
    path = tmp_path / "faults.csv"
    path.write_bytes(HEADER.encode() + b"S1,#A,2016-11-16T13:00:00Z\n" * 3000
                     + b"S\xff,#A,2016-11-16T13:00:00Z\n")
    stdout, stderr = io.StringIO(), io.StringIO()
    assert eval_csv("#A", str(path), stdout, stderr) == 2
    assert ": line 3002: not UTF-8 text" in stderr.getvalue()


def test_quoting_byte_order_mark_and_crlf(tmp_path):
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + '"JAP,1",#A,2016-11-16T13:00:00Z\r\n'
    assert evaluate_file(tmp_path, text) == (
        0, 'serial_number,timestamp\n"JAP,1",2016-11-16T13:00:00.000Z\n', "")
