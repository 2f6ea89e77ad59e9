"""The progress display: a tqdm bar on a terminal (a real pseudo-terminal here),
plain logged lines anywhere else."""

import io
import logging
import sys
import textwrap

from spark_app.common.progress import Progress
from tests.support.terminal import run_on_a_terminal


def test_the_plain_line_has_percentage_and_eta_when_the_total_is_known():
    progress = Progress("daily 2016-11-16..2016-11-19", total=4, unit="day")
    progress.count = 1
    progress.note("2016-11-16: 120 faults")
    assert progress.line(10.0) == \
        "daily 2016-11-16..2016-11-19: 25% 1/4 [00:10<00:30, 10.00s/day], 2016-11-16: 120 faults"


def test_bytes_are_shown_in_si_units_and_an_unknown_total_has_no_eta():
    progress = Progress("ingest", total=None, unit="B")
    progress.count = 3_000_000
    assert progress.line(2.0) == "ingest: 3.00MB [00:02, 1.50MB/s]"


def test_not_on_a_terminal_lines_are_logged_every_interval_and_at_the_end(caplog):
    caplog.set_level(logging.INFO)
    with Progress("backfill", total=3, unit="day", interval_s=3600,
                  stream=io.StringIO()) as progress:
        for _ in range(3):
            progress.update()
    # nothing within the interval; one line where it ended
    [line] = [record.getMessage() for record in caplog.records]
    assert line.startswith("backfill: 100% 3/3 [00:00<00:00, ")

    caplog.clear()
    with Progress("backfill", total=2, unit="day", interval_s=0,
                  stream=io.StringIO()) as progress:
        progress.update()
        progress.update()
    assert [record.getMessage().split(" [")[0] for record in caplog.records] == \
        ["backfill: 50% 1/2", "backfill: 100% 2/2"]


def test_nothing_is_shown_below_the_info_level(caplog):
    caplog.set_level(logging.WARNING)
    stream = io.StringIO()
    with Progress("ingest", total=10, interval_s=0, stream=stream) as progress:
        progress.update(10)
    assert caplog.records == [] and stream.getvalue() == ""


def test_on_a_terminal_a_bar_with_percentage_and_eta_and_log_lines_above_it():
    script = textwrap.dedent("""
        import logging, sys, time
        from spark_app.common.log_setup import configure_logging
        from spark_app.common.progress import Progress
        configure_logging("info")
        with Progress("daily", total=4, unit="day") as progress:
            for day in range(4):
                time.sleep(0.25)
                if day == 1:
                    logging.getLogger("spark_app.daily").info("a line meanwhile")
                progress.update()
        print("done")
    """)
    shown = run_on_a_terminal([sys.executable, "-c", script], timeout=60)
    assert (shown.returncode, shown.stdout) == (0, "done\n"), shown.terminal
    shown = shown.terminal
    assert "\r" in shown  # one line, redrawn
    assert "daily: 100%|" in shown and "| 4/4 [00:0" in shown
    assert "daily:  25%|" in shown or "daily:  50%|" in shown
    assert "<00:0" in shown and ("day/s]" in shown or "s/day]" in shown)  # ETA and rate
    assert "INFO spark_app.daily: a line meanwhile" in shown
