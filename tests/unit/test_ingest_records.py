"""Validation of JSON-lines fault records (no I/O)."""

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from spark_app.ingest.jsonl import read_lines
from spark_app.ingest.records import (
    Invalid,
    RecordRules,
    bounded_payload,
    json_line_row,
    parse_timestamp,
    text_code,
)

RULES = RecordRules(shards=16, max_record_bytes=512, future_tolerance=timedelta(days=1))
WIDE = RecordRules(shards=16, max_record_bytes=8192, future_tolerance=timedelta(days=1))
NOW = datetime(2016, 11, 20, 12, 0, tzinfo=UTC)
GOOD = {"serial_number": "JAP00100", "model": "JAP", "kind": "event", "mid": 123, "cid": 456,
        "fmi": 789, "ts": "2016-11-16T13:34:00Z", "received_at": "2016-11-18T20:30:00Z"}


def line(**changes) -> bytes:
    record = {key: value for key, value in {**GOOD, **changes}.items() if value is not ...}
    return json.dumps(record).encode()


def test_a_good_line_becomes_the_faults_row():
    assert json_line_row(line(), NOW, RULES) == (
        # shard 9: crc32(b"JAP00100") % 16 (`python -c 'import zlib; print(zlib.crc32(b"JAP00100") % 16)'`)
        date(2016, 11, 18), 9, "JAP", "#1.123.456.789", "JAP00100",
        datetime(2016, 11, 16, 13, 34, tzinfo=UTC),
        datetime(2016, 11, 18, 20, 30, tzinfo=UTC))


def test_a_diagnostic_is_tagged_2():
    assert json_line_row(line(kind="diagnostic"), NOW, RULES)[3] == "#2.123.456.789"


def test_received_at_defaults_to_when_the_line_is_read():
    row = json_line_row(line(received_at=...), NOW, RULES)
    assert row[0] == NOW.date() and row[6] == NOW


def test_an_offset_is_converted_and_picks_the_utc_day():
    row = json_line_row(line(received_at="2016-11-18T22:30:00-03:00"), NOW, RULES)
    assert row[0] == date(2016, 11, 19)
    assert row[6] == datetime(2016, 11, 19, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize("raw, reason", [
    (b'{"serial_number": "JAP00100", "model"', "not valid JSON"),
    (b"[1, 2, 3]", "must hold a JSON object"),
    (b'{"serial_number": "\xff\xfe"}', "not UTF-8"),
    (line(mid=...), "mid is missing"),
    (line(fmi="12x"), "fmi must be a JSON integer, not a string: '12x'"),
    (line(cid="456"), "cid must be a JSON integer, not a string"),
    (line(cid=-1), "cid must be a non-negative integer, got -1"),
    (line(mid=1.5), "mid must be a non-negative integer, got 1.5"),
    (line(fmi=True), "fmi must be a non-negative integer, got True"),
    (line(serial_number=""), "serial_number is missing or empty"),
    (line(serial_number=...), "serial_number is missing or empty"),
    (line(model="  "), "model is missing or empty"),
    (line(model=7), "model is missing or empty"),
    (line(kind="warning"), "kind must be 'event' or 'diagnostic', got 'warning'"),
    (line(kind=...), "kind must be 'event' or 'diagnostic', got None"),
    (line(ts="16/11/2016 13:34"), "ts is not an ISO 8601 timestamp"),
    (line(ts=...), "ts must be an ISO 8601 string, got None"),
    (line(ts=1479303240), "ts must be an ISO 8601 string"),
    (line(ts="2016-11-16T13:34:00"), "ts has no time zone"),
    (line(received_at="2016-11-18"), "received_at has no time zone"),
    (line(ts="2016-11-20T20:30:01Z"),
     "later than received_at 2016-11-18T20:30:00+00:00 plus ingest.future_tolerance_s (86400 s)"),
    (line(received_at="2016-11-22T00:00:00Z", ts="2016-11-21T00:00:00Z"),
     "received_at 2016-11-22T00:00:00+00:00 is in the future"),
    (b"x" * 513, "line longer than ingest.max_record_bytes (512 bytes)"),
])
def test_every_bad_record_is_refused_with_its_reason(raw, reason):
    with pytest.raises(Invalid) as refused:
        json_line_row(raw, NOW, RULES)
    assert reason in str(refused.value)


def test_the_tolerance_is_inclusive():
    within = line(ts="2016-11-19T20:30:00Z")  # exactly one day after received_at
    assert json_line_row(within, NOW, RULES)[5] == datetime(2016, 11, 19, 20, 30,
                                                             tzinfo=UTC)


def test_a_long_bad_value_is_quoted_shortened():
    with pytest.raises(Invalid) as refused:
        json_line_row(line(kind="k" * 300), NOW, RULES)
    assert len(str(refused.value)) < 150


@pytest.mark.parametrize("text, expected", [("12", 12), (" 007 ", 7), ("0", 0)])
def test_xml_codes_are_decimal_text(text, expected):
    assert text_code(text, "MID") == expected


@pytest.mark.parametrize("text", ["-1", "1.5", "12x", "", "١٢", None])
def test_xml_codes_that_are_not_decimal_digits_are_refused(text):
    with pytest.raises(Invalid, match="MID"):
        text_code(text, "MID")


def test_z_and_offsets_parse_to_utc():
    assert parse_timestamp("2016-11-16T13:34:00.250Z", "ts") == \
        datetime(2016, 11, 16, 13, 34, 0, 250000, tzinfo=UTC)
    assert parse_timestamp("2016-11-16T15:34:00+02:00", "ts").tzinfo is UTC


def test_payloads_are_bounded():
    assert bounded_payload(b"abc", 10) == "abc"
    cut = bounded_payload(b"a" * 100, 10)
    assert cut.startswith("a" * 10) and "90 more bytes" in cut
    assert bounded_payload(b"\xff", 10) == "\ufffd"


def test_lines_are_read_with_numbers_blank_ones_skipped_long_ones_cut():
    data = b'{"a": 1}\n\n   \r\n' + b"y" * 5000 + b"\n" + b'{"b": 2}\r\n{"c": 3}'
    lines = list(read_lines(io.BytesIO(data), max_bytes=100))
    assert [number for number, _ in lines] == [1, 4, 5, 6]
    assert lines[0][1] == b'{"a": 1}'
    assert lines[1][1] == b"y" * 101, "cut one byte past the maximum, so it is refused"
    assert lines[2][1] == b'{"b": 2}\r' and json.loads(lines[2][1]) == {"b": 2}
    assert lines[3][1] == b'{"c": 3}', "a last line without newline counts"


def test_a_line_of_exactly_the_maximum_is_kept_whole():
    data = b"z" * 100 + b"\n" + b"w" * 101 + b"\nend\n"
    assert [line for _, line in read_lines(io.BytesIO(data), max_bytes=100)] == \
        [b"z" * 100, b"w" * 101, b"end"]


@pytest.mark.parametrize("raw, reason", [
    (line(serial_number="C1\ud800"),
     r"serial_number is not valid Unicode (a lone surrogate): 'C1\ud800'"),
    (line(model="\udfffJAP"), "model is not valid Unicode (a lone surrogate)"),
    (line(serial_number="S" * 257), "serial_number is longer than 256 bytes of UTF-8 (257 bytes)"),
    (line(model="é" * 129), "model is longer than 256 bytes of UTF-8 (258 bytes)"),
    (line(ts="0001-01-01T00:00:00+01:00"),
     "ts '0001-01-01T00:00:00+01:00' is outside the days the pipeline can represent "
     "(1677-09-22 .. 2262-04-10, UTC)"),
    (line(received_at="9999-12-31T23:59:59-01:00"),
     "received_at '9999-12-31T23:59:59-01:00' is outside the days the pipeline can represent"),
    (line(ts="0001-01-01T00:00:00Z"), "ts '0001-01-01T00:00:00Z' is outside the days"),
    (line(ts="1677-09-21T23:59:59.999Z"), "ts '1677-09-21T23:59:59.999Z' is outside the days"),
    (line(received_at="2262-04-11T00:00:00Z", ts="2262-04-10T00:00:00Z"),
     "received_at '2262-04-11T00:00:00Z' is outside the days"),
    (line(mid=2**31), "mid must be at most 2147483647, got 2147483648"),
    (line(fmi=10**400), "fmi must be at most 2147483647, got 1000000000"),
    (b"[" * 8000, "not valid JSON: nested too deeply"),
])
def test_values_cassandra_or_the_daily_job_cannot_hold_are_refused(raw, reason):
    with pytest.raises(Invalid) as refused:
        json_line_row(raw, NOW, WIDE)
    assert reason in str(refused.value)


def test_the_ends_of_the_representable_days_are_accepted():
    earliest = json_line_row(line(ts="1677-09-22T00:00:00Z", mid=2**31 - 1), NOW, RULES)
    assert earliest[5] == datetime(1677, 9, 22, tzinfo=UTC)
    assert earliest[3] == "#1.2147483647.456.789"
    late = NOW.replace(year=2262, month=4, day=11)
    latest = json_line_row(line(ts="2262-04-10T23:59:59.999Z", received_at=...), late, RULES)
    assert latest[5] == datetime(2262, 4, 10, 23, 59, 59, 999000, tzinfo=UTC)
    assert json_line_row(line(serial_number="S" * 256), NOW, WIDE)[4] == "S" * 256


def test_xml_codes_of_thousands_of_digits_are_refused_without_converting_them():
    with pytest.raises(Invalid, match="MID must be at most 2147483647, got '9999"):
        text_code("9" * 5000, "MID")
    assert text_code("000000000000042", "MID") == 42, "leading zeros do not count"
