"""Sources, settings and the summary of `fleetwatch ingest` (no I/O but tmp files)."""

import io
import logging
import re
from datetime import date

import pytest

from spark_app.common.config import ConfigError, load_config
from spark_app.ingest.run import IngestSummary, SourceResult, expand_sources
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.tally import IngestProgress


def test_sources_expand_folders_to_their_jsonl_files(tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    for name in ("b.jsonl", "a.jsonl", "notes.txt"):
        (folder / name).write_text("")
    single = tmp_path / "single.json"
    single.write_text("")
    url = "http://127.0.0.1:1/Fleet/FaultCodes"
    assert expand_sources([str(folder), str(single), url]) == \
        [str(folder / "a.jsonl"), str(folder / "b.jsonl"), str(single), url]


def test_a_missing_path_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        expand_sources([str(tmp_path), str(tmp_path / "missing.jsonl")])


def test_settings_come_from_the_ingest_section():
    settings = IngestSettings.from_config(load_config(environ={
        "FLEETWATCH_INGEST_RETRY_ATTEMPTS": "3", "FLEETWATCH_CASSANDRA_SHARDS": "8"}))
    assert settings.retry.attempts == 3 and settings.rules.shards == 8
    assert settings.rules.future_tolerance.total_seconds() == 86400


def test_a_setting_that_is_not_positive_is_refused_by_name():
    config = load_config(environ={"FLEETWATCH_INGEST_CONCURRENCY": "0"})
    with pytest.raises(ConfigError, match="FLEETWATCH_INGEST_CONCURRENCY"):
        IngestSettings.from_config(config)


def test_summary_counts_days_and_exit_code():
    ok = IngestSummary(
        (SourceResult("a.jsonl", 90, 10, 0, None),
         SourceResult("http://h/Fleet/FaultCodes", 5, 1, 3, None)),
        {date(2016, 11, 16): 60, date(2016, 11, 17): 35}, seconds=2.0)
    text = ok.text()
    assert ok.exit_code == 0
    assert text.splitlines()[0].startswith("ingested 95 faults and 11 rejected messages "
                                           "from 2 source(s)")
    assert "http://h/Fleet/FaultCodes: 3 page(s), 5 faults, 1 rejected" in text
    assert "days touched: 2: 2016-11-16 (60), 2016-11-17 (35)" in text


def test_a_failed_source_fails_the_run():
    summary = IngestSummary((SourceResult("a.jsonl", 0, 0, 0, None),
                             SourceResult("http://h/f", 0, 0, 0, "HTTP 500")))
    assert summary.exit_code == 1
    assert "http://h/f: 0 page(s), 0 faults, 0 rejected — FAILED: HTTP 500" in summary.text()
    assert "days touched: 0" in summary.text()


def test_many_days_are_shortened():
    days = {date(2016, 11, 1 + n): 1 for n in range(15)}
    text = IngestSummary((SourceResult("a", 15, 0, 0, None),), days).text()
    assert "… 5 more, last 2016-11-15" in text


def test_progress_logs_lines_when_not_a_terminal(caplog):
    caplog.set_level(logging.INFO)
    with IngestProgress(interval_s=0.0, total_bytes=2000, stream=io.StringIO()) as progress:
        tally = progress.tally("a.jsonl")
        tally.add([(date(2016, 11, 16),)] * 3, 1, bytes_read=1000)
    [line] = [record.getMessage() for record in caplog.records]
    assert re.fullmatch(r"ingest: 50% 1\.00kB/2\.00kB \[00:00<00:00, [^\]]+B/s\], "
                        r"3 faults, 1 rejected \(a\.jsonl\)", line), line
    assert tally.days == {date(2016, 11, 16): 3}


def test_with_feeds_only_progress_counts_pages_and_names_the_current_source(caplog):
    caplog.set_level(logging.INFO)
    with IngestProgress(interval_s=0.0, total_bytes=0, stream=io.StringIO()) as progress:
        first, second = progress.tally("http://a/feed"), progress.tally("http://b/feed")
        first.pages += 1
        first.add([(date(2016, 11, 16),)] * 2, 0)
        second.pages += 1
        second.add([], 1)
    lines = [record.getMessage() for record in caplog.records]
    assert [re.sub(r" \[.*\]", "", line) for line in lines] == [
        "ingest: 1 page, 2 faults, 0 rejected (http://a/feed)",
        "ingest: 2 page, 2 faults, 1 rejected (http://b/feed)"]
