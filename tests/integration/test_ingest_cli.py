"""`fleetwatch ingest` and `fleetwatch simulate faults|feed` through the real
command line: summary text and exit codes."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from spark_app.services.process import free_port
from tests.support.ingest import QUICK_RETRIES
from tests.support.terminal import run_on_a_terminal

FLEETWATCH = [sys.executable, "-m", "spark_app.cli"]


def run(*args, **environ):
    return subprocess.run([*FLEETWATCH, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **QUICK_RETRIES, **environ})


@pytest.fixture(scope="module")
def simulated_file(cassandra, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "faults.jsonl"
    result = run("simulate", "faults", "--out", str(path), "--serials", "50", "--models", "2",
                 "--days", "2", "--start", "2005-05-05", "--faults-per-day", "400",
                 "--late-fraction", "0.05", "--malformed-fraction", "0.05", "--seed", "9")
    assert result.returncode == 0, result.stderr
    return path, result.stdout


def test_simulate_faults_is_deterministic(simulated_file, tmp_path):
    path, stdout = simulated_file
    assert stdout.startswith(f"wrote 800 lines to {path} (")
    again = tmp_path / "again.jsonl"
    run("simulate", "faults", "--out", str(again), "--serials", "50", "--models", "2",
        "--days", "2", "--start", "2005-05-05", "--faults-per-day", "400",
        "--late-fraction", "0.05", "--malformed-fraction", "0.05", "--seed", "9")
    assert again.read_bytes() == path.read_bytes()


def test_ingest_prints_a_summary_and_exits_0(simulated_file):
    path, stdout = simulated_file
    malformed = int(stdout.split("(")[1].split()[0])
    result = run("ingest", str(path))
    assert result.returncode == 0, result.stderr
    summary = result.stdout.splitlines()
    assert summary[0].startswith(
        f"ingested {800 - malformed} faults and {malformed} rejected messages from 1 source(s)")
    assert summary[1] == f"  {path}: {800 - malformed} faults, {malformed} rejected"
    assert summary[2].startswith("days touched: ") and "2005-05-05 (" in summary[2]


def test_a_missing_path_exits_2_before_anything_is_written(tmp_path):
    result = run("ingest", str(tmp_path / "nope.jsonl"))
    assert result.returncode == 2
    assert "no such file, folder or feed URL" in result.stderr


def test_nothing_written_when_cassandra_is_unreachable_exits_1(simulated_file):
    path, _ = simulated_file
    result = run("ingest", str(path), FLEETWATCH_CASSANDRA_PORT=str(free_port()),
                 FLEETWATCH_INGEST_RETRY_ATTEMPTS="1")
    assert result.returncode == 1
    assert "FAILED: Cassandra is not reachable at 127.0.0.1:" in result.stdout
    assert "is it running? `fleetwatch services start` starts the local one" in result.stdout
    assert result.stdout.startswith("ingested 0 faults and 0 rejected messages")


def test_a_failed_feed_fails_the_run_but_the_file_is_still_ingested(simulated_file):
    path, _ = simulated_file
    dead_feed = f"http://127.0.0.1:{free_port()}/Fleet/FaultCodes"
    result = run("ingest", dead_feed, str(path))
    assert result.returncode == 1
    assert f"{dead_feed}: 0 page(s), 0 faults, 0 rejected — FAILED: " in result.stdout
    assert "Connection refused" in result.stdout
    assert f"  {path}: " in result.stdout and "source(s) failed; running the same command " \
        "again is safe" in result.stdout


def test_simulate_feed_serves_pages_until_interrupted():
    port = free_port()
    server = subprocess.Popen(
        [*FLEETWATCH, "simulate", "feed", "--port", str(port), "--serials", "20",
         "--faults-per-day", "30", "--days", "1", "--page-size", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        assert f"at http://127.0.0.1:{port}/Fleet/FaultCodes" in banner
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/Fleet/FaultCodes?after=10", timeout=5) as page:
                    body = page.read()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert body.count(b"<FaultCode>") == 10
        assert b"<rel>next</rel><href>/Fleet/FaultCodes?after=20</href>" in body
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        server.stdout.close()
        server.stderr.close()
    assert server.returncode == 130


def test_ingest_progress_is_logged_as_lines_when_stderr_is_no_terminal(simulated_file):
    """As an Airflow task log gets it: plain lines with percentage of bytes and ETA."""
    path, stdout = simulated_file
    malformed = int(stdout.split("(")[1].split()[0])
    result = run("ingest", str(path), FLEETWATCH_INGEST_CHUNK_ROWS="100",
                 FLEETWATCH_INGEST_PROGRESS_INTERVAL_S="0.000001")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if " ingest: " in line]
    assert len(lines) == 8, result.stderr  # one per chunk of 100 lines
    assert " INFO spark_app.ingest.tally: ingest: 13% 17.6kB/141kB [00:" in lines[0]
    assert re.search(r" ingest: 100% [\d.]+kB/[\d.]+kB \[00:\d\d<00:00, [^\]]+B/s\], "
                     rf"{800 - malformed} faults, {malformed} rejected \({path}\)$", lines[-1])
    assert "\r" not in result.stderr


def test_ingest_progress_is_a_bar_on_a_terminal(simulated_file):
    path, _ = simulated_file
    shown = run_on_a_terminal([*FLEETWATCH, "ingest", str(path)],
                              env={**os.environ, **QUICK_RETRIES,
                                   "FLEETWATCH_INGEST_CHUNK_ROWS": "100"})
    assert shown.returncode == 0, shown.terminal
    assert shown.stdout.startswith("ingested ")
    assert "\ringest: 100%|" in shown.terminal, shown.terminal
    assert re.search(r"\| [\d.]+k/[\d.]+kB? \[00:\d\d<00:00, ", shown.terminal), shown.terminal
    assert "faults, " in shown.terminal


def test_quiet_or_a_warning_log_level_leaves_only_the_summary(simulated_file):
    path, _ = simulated_file
    for args, environ in ((["-q"], {}), ([], {"FLEETWATCH_LOG_LEVEL": "warning"})):
        result = subprocess.run([*FLEETWATCH, *args, "ingest", str(path)], capture_output=True,
                                text=True, timeout=300,
                                env={**os.environ, **QUICK_RETRIES, **environ,
                                     "FLEETWATCH_INGEST_PROGRESS_INTERVAL_S": "0.000001"})
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert result.stdout.startswith("ingested ")
