"""JSON-lines files into the real Cassandra: stored once, bad lines rejected
with their reasons, the rest ingested. Every test writes its own received
days, so reruns and other tests do not disturb the counts."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from spark_app.ingest.run import ingest
from spark_app.sim.faults import FleetSpec, simulate_faults, write_jsonl
from tests.support.ingest import (
    clear_days,
    days_of,
    expected_keys,
    fault_keys,
    ingest_config,
    rejects_of,
)


@pytest.fixture(scope="module")
def quick(cassandra):
    """The suite's configuration with quick retries."""
    return ingest_config()


def record(n: int, day: date, **changes) -> str:
    received = datetime(day.year, day.month, day.day, 20, 30, tzinfo=UTC)
    fields = {"serial_number": f"JAP{n % 50:05d}", "model": "JAP", "kind": "event", "mid": 123,
              "cid": 456, "fmi": n % 32,
              "ts": (received - timedelta(hours=1, seconds=n)).isoformat(),
              "received_at": received.isoformat(), **changes}
    return json.dumps({key: value for key, value in fields.items() if value is not ...})


def test_good_lines_are_stored_once_and_ingesting_again_adds_nothing(cassandra, quick,
                                                                      tmp_path):
    day = date(2003, 3, 3)
    clear_days(cassandra, quick, [day])
    path = tmp_path / "good.jsonl"
    path.write_text("".join(record(n, day) + "\n" for n in range(500)))

    first = ingest(quick, [str(path)])
    assert (first.faults, first.rejected, first.exit_code) == (500, 0, 0), first.text()
    assert first.days == {day: 500}
    stored = fault_keys(cassandra, quick, [day])
    assert len(stored) == 500

    again = ingest(quick, [str(path)])
    assert again.faults == 500 and again.exit_code == 0
    assert fault_keys(cassandra, quick, [day]) == stored, "an upsert, not a second copy"


def test_bad_lines_are_rejected_with_their_reasons_and_the_rest_ingested(cassandra, quick,
                                                                          tmp_path):
    day = date(2003, 4, 4)
    clear_days(cassandra, quick, [day])
    lines = [
        record(0, day),
        '{"serial_number": "JAP00001", "model": "JAP", "kind": ',  # 2: malformed JSON
        record(1, day, mid=...),                                    # 3: no MID
        record(2, day, fmi="7x"),                                   # 4: non-numeric FMI
        record(3, day, ts="last tuesday"),                          # 5: unparseable
        record(4, day, ts="2003-04-07T00:00:00Z"),                  # 6: far future
        record(5, day),
        record(5, day),                                             # 8: duplicate of 7
        "",                                                         # 9: blank, skipped
        record(6, day, padding="x" * 9000),                         # 10: oversized
        record(7, day, ts="2003-04-04T19:00:00"),                   # 11: no time zone
        record(8, day),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n")

    summary = ingest(quick, [str(path)])
    assert summary.exit_code == 0, summary.text()
    assert (summary.faults, summary.rejected) == (4, 7)  # the duplicate is ingested twice
    assert len(fault_keys(cassandra, quick, [day])) == 3

    reasons = rejects_of(cassandra, str(path))
    expected = {
        2: "not valid JSON",
        3: "mid is missing",
        4: "fmi must be a JSON integer, not a string: '7x'",
        5: "ts is not an ISO 8601 timestamp: 'last tuesday'",
        6: "later than received_at 2003-04-04T20:30:00+00:00 plus ingest.future_tolerance_s",
        10: "line longer than ingest.max_record_bytes (8192 bytes)",
        11: "ts has no time zone",
    }
    assert sorted(reasons) == sorted(expected)
    for number, reason in expected.items():
        assert reason in reasons[number][0], (number, reasons[number])
    assert reasons[3][1] == lines[2], "the raw line is kept"
    assert len(reasons[10][1]) == 8193, "an oversized line is kept cut, not whole"


def test_an_empty_file_ingests_nothing_and_is_no_error(quick, tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    summary = ingest(quick, [str(path)])
    assert (summary.faults, summary.rejected, summary.exit_code) == (0, 0, 0)


def test_a_folder_of_simulated_files_is_ingested_whole(cassandra, quick, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    simulated = []
    for seed, start in ((21, date(2003, 5, 1)), (22, date(2003, 5, 3))):
        faults = simulate_faults(FleetSpec(serials=200, models=3, days=2, start=start,
                                           faults_per_day=1500, late_fraction=0.05), seed)
        written = write_jsonl(faults, folder / f"part-{seed}.jsonl", 0.03, seed)
        simulated.append((faults, written))
    (folder / "README.txt").write_text("not telemetry")
    days = sorted(set().union(*(days_of(faults) for faults, _ in simulated)))
    clear_days(cassandra, quick, days)

    summary = ingest(quick, [str(folder)])
    assert summary.exit_code == 0, summary.text()
    assert summary.faults == sum(written.good for _, written in simulated)
    assert summary.rejected == sum(written.lines - written.good for _, written in simulated)
    expected = set().union(*(expected_keys(faults, ~written.malformed)
                             for faults, written in simulated))
    assert fault_keys(cassandra, quick, days) == expected
    # the main thread's parts follow one another inside the run; the writers' overlap them
    parts = summary.part_seconds
    assert sorted(parts) == ["serialise", "validate", "wait"]
    assert min(parts.values()) >= 0 and parts["validate"] > 0 and parts["serialise"] > 0
    assert parts["validate"] + parts["wait"] <= summary.seconds
