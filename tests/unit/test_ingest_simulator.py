"""The fault simulator: deterministic, drawn from the tag vocabulary, and its
malformed records are exactly the ones validation refuses (no I/O but tmp files)."""

from datetime import UTC, datetime, timedelta

import numpy as np

from spark_app.ingest.feed_xml import parse_page, record_row, render_page
from spark_app.ingest.jsonl import read_lines
from spark_app.ingest.records import Invalid, RecordRules, json_line_row
from spark_app.sim.faults import (
    DAY_MS,
    FleetSpec,
    feed_records,
    simulate_faults,
    tag_vocabulary,
    write_jsonl,
)

SPEC = FleetSpec(serials=300, models=4, days=3, faults_per_day=2000, late_fraction=0.05)
RULES = RecordRules(shards=16, max_record_bytes=8192, future_tolerance=timedelta(days=1))
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_same_seed_same_faults_other_seed_other_faults():
    first, again, other = (simulate_faults(SPEC, seed) for seed in (1, 1, 2))
    assert all(np.array_equal(getattr(first, name), getattr(again, name))
               for name in ("serial_number", "tag", "ts_ms", "received_ms"))
    assert not np.array_equal(first.ts_ms, other.ts_ms)


def test_faults_are_spread_over_the_days_some_late_in_receipt_order():
    faults = simulate_faults(SPEC, 3)
    assert len(faults) == 6000
    start_ms = int(datetime(2016, 11, 16, tzinfo=UTC).timestamp() * 1000)
    days = (faults.ts_ms - start_ms) // DAY_MS
    assert np.array_equal(np.bincount(days), [2000, 2000, 2000])
    assert np.all(np.diff(faults.received_ms) >= 0)
    delay = faults.received_ms - faults.ts_ms
    assert 0.03 < faults.late.mean() < 0.07
    assert np.all(delay[faults.late] >= 2 * DAY_MS) and np.all(delay[~faults.late] < DAY_MS)


def test_tags_come_from_each_models_vocabulary():
    faults = simulate_faults(SPEC, 4)
    vocabulary = tag_vocabulary(SPEC.models, SPEC.tags_per_model)
    tags = vocabulary.tags()
    for row, model in enumerate(vocabulary.models):
        assert len(set(tags[row])) == SPEC.tags_per_model
        used = set(faults.tag[faults.model == model])
        assert used <= set(tags[row]) and len(used) == SPEC.tags_per_model
        codes = vocabulary.codes(model)
        assert [f"#{1 if k == 'event' else 2}.{m}.{c}.{f}" for k, m, c, f in codes] == \
            list(tags[row])
    assert all(serial.startswith(model) for serial, model in
               zip(faults.serial_number, faults.model, strict=True))
    assert vocabulary.models == ("JAP", "KOM", "CAT", "VOL")


def test_written_lines_are_valid_exactly_where_not_malformed(tmp_path):
    written = write_jsonl(simulate_faults(SPEC, 5), tmp_path / "f.jsonl", 0.05, seed=5)
    assert written.lines == 6000 and 150 < written.lines - written.good < 450
    with open(written.path, "rb") as handle:
        lines = list(read_lines(handle, RULES.max_record_bytes))
    assert len(lines) == written.lines
    for (number, line), malformed in zip(lines, written.malformed, strict=True):
        try:
            json_line_row(line, NOW, RULES)
            refused = False
        except Invalid:
            refused = True
        assert refused == malformed, (number, line)


def test_same_seed_same_file(tmp_path):
    for name in ("a", "b"):
        write_jsonl(simulate_faults(SPEC, 6), tmp_path / name, 0.02, seed=6)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_feed_records_are_valid_exactly_where_not_malformed():
    simulated = feed_records(simulate_faults(SPEC, 7), 0.05, seed=7)
    page = parse_page(render_page(simulated.records, "/f", None, "x"), 1 << 24)
    assert len(page.records) == len(simulated.records) == 6000
    for record, malformed in zip(page.records, simulated.malformed, strict=True):
        try:
            record_row(record, NOW, RULES)
            refused = False
        except Invalid:
            refused = True
        assert refused == malformed, record.xml()
    assert 150 < len(simulated.records) - simulated.good < 450
