"""The columnar validation of a chunk of JSON lines (no I/O): what it accepts
becomes the literal `faults` values; every other line is left to the
per-line validator, whose reason is the one stored."""

import io
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from spark_app.ingest.columnar import _instants, as_bytes, validate_chunk
from spark_app.ingest.faults import _batch_starts, _big_endian, _driver_milliseconds
from spark_app.ingest.jsonl import read_chunks
from spark_app.ingest.records import Invalid, RecordRules, json_line_row

RULES = RecordRules(shards=16, max_record_bytes=8192, future_tolerance=timedelta(days=1))
NOW = datetime(2016, 11, 20, 12, 0, tzinfo=UTC)
GOOD = {"serial_number": "JAP00100", "model": "JAP", "kind": "event", "mid": 123, "cid": 456,
        "fmi": 789, "ts": "2016-11-16T13:34:00Z", "received_at": "2016-11-18T20:30:00Z"}


def line(**changes) -> bytes:
    record = {key: value for key, value in {**GOOD, **changes}.items() if value is not ...}
    return json.dumps(record).encode()


def outcome(lines: list[bytes]) -> tuple[int, dict[int, str]]:
    """Faults accepted, and line index → reason, as ingest_jsonl gets them: the
    lines the columnar checks leave go through the per-line validator."""
    chunk = validate_chunk(lines, NOW, RULES)
    accepted, refused = len(chunk.faults), {}
    for index in chunk.per_line:
        try:
            json_line_row(lines[index], NOW, RULES)
            accepted += 1
        except Invalid as invalid:
            refused[index] = str(invalid)
    return accepted, refused


def test_good_lines_become_the_literal_faults_values():
    lines = [line(), line(kind="diagnostic", serial_number="CAT00007", mid=0, cid=2147483647,
                          ts="2016-11-18T22:30:00.5-03:00", received_at=...)]
    chunk = validate_chunk(lines, NOW, RULES)
    assert chunk.per_line == []
    faults = chunk.faults
    assert faults.day.tolist() == [17123, 17125]  # 2016-11-18, 2016-11-20 (NOW)
    # crc32(b"JAP00100") % 16 == 9, crc32(b"CAT00007") % 16 == 0
    assert faults.shard.tolist() == [9, 0]
    assert as_bytes(faults.model) == [b"JAP", b"JAP"]
    assert as_bytes(faults.tag) == [b"#1.123.456.789", b"#2.0.2147483647.789"]
    assert as_bytes(faults.serial_number) == [b"JAP00100", b"CAT00007"]
    # 2016-11-16T13:34:00Z and 2016-11-19T01:30:00.5Z in µs since the epoch
    assert faults.ts_us.tolist() == [1479303240000000, 1479519000500000]
    # 2016-11-18T20:30:00Z, and NOW for the line without received_at
    assert faults.received_us.tolist() == [1479501000000000, 1479643200000000]
    assert dict(faults.day_counts()) == {datetime(2016, 11, 18).date(): 1,
                                         datetime(2016, 11, 20).date(): 1}


def test_one_line_of_bad_json_leaves_the_rest_of_its_chunk_accepted():
    lines = [line(fmi=n) for n in range(100)]
    lines[50] = line()[:-9]
    chunk = validate_chunk(lines, NOW, RULES)
    assert 50 in chunk.per_line and len(chunk.per_line) < 16, "only its neighbours go per line"
    assert outcome(lines) == (99, {
        50: "not valid JSON: Unterminated string starting at: line 1 column 145 (char 144)"})


BAD = [
    (line(mid="123"), "mid must be a JSON integer, not a string: '123'"),
    (line(cid=-1), "cid must be a non-negative integer, got -1"),
    (line(fmi=2147483648), "fmi must be at most 2147483647, got 2147483648"),
    (line(mid=1.0), "mid must be a non-negative integer, got 1.0"),
    (line(mid=True), "mid must be a non-negative integer, got True"),
    (line(mid=None), "mid is missing"),
    (line(cid=...), "cid is missing"),
    (line(serial_number=""), "serial_number is missing or empty"),
    (line(serial_number="   "), "serial_number is missing or empty"),
    (line(model=7), "model is missing or empty"),
    (line(serial_number="S" * 257),
     "serial_number is longer than 256 bytes of UTF-8 (257 bytes): "
     "'SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS…"),
    (line(kind="warning"), "kind must be 'event' or 'diagnostic', got 'warning'"),
    (line(ts="2016-02-30T00:00:00Z"),
     "ts is not an ISO 8601 timestamp: '2016-02-30T00:00:00Z'"),
    (line(ts="2016-11-16T13:34:60Z"),
     "ts is not an ISO 8601 timestamp: '2016-11-16T13:34:60Z'"),
    (line(ts="2016-11-16T24:00:00Z"),
     "ts is not an ISO 8601 timestamp: '2016-11-16T24:00:00Z'"),
    (line(ts="2016-11-16T13:34:00+24:00"),
     "ts is not an ISO 8601 timestamp: '2016-11-16T13:34:00+24:00'"),
    (line(ts="2016-11-16T13:34:00"),
     "ts has no time zone (add Z or ±HH:MM): '2016-11-16T13:34:00'"),
    (line(ts=1479303240), "ts must be an ISO 8601 string, got 1479303240"),
    (line(ts="1677-09-21T23:59:59Z"),
     "ts '1677-09-21T23:59:59Z' is outside the days the pipeline can represent "
     "(1677-09-22 .. 2262-04-10, UTC)"),
    (line(ts="2016-11-19T20:30:00.000001Z"),
     "ts 2016-11-19T20:30:00.000001+00:00 is later than received_at "
     "2016-11-18T20:30:00+00:00 plus ingest.future_tolerance_s (86400 s)"),
    (line(received_at="2016-11-21T12:00:00.000001Z", ts="2016-11-21T00:00:00Z"),
     "received_at 2016-11-21T12:00:00.000001+00:00 is in the future"),
    (line() + line(), "not valid JSON: Extra data: line 1 column 168 (char 167)"),
    (b"[1, 2, 3]", "a line must hold a JSON object, got list"),
    # JSON that lenient parsers take
    (line()[:-1] + b", }",
     "not valid JSON: Expecting property name enclosed in double quotes: line 1 column 169 "
     "(char 168)"),
    (line()[:-1] + b" /* c */}", "not valid JSON: Expecting ',' delimiter: line 1 column 168 (char 167)"),
    (line().replace(b'"mid": 123', b'"mid": 0123'),
     "not valid JSON: Expecting ',' delimiter: line 1 column 72 (char 71)"),
    (line().replace(b'"JAP00100"', b"'JAP00100'"),
     "not valid JSON: Expecting value: line 1 column 19 (char 18)"),
    (line(serial_number="JAP\ud800"),
     r"serial_number is not valid Unicode (a lone surrogate): 'JAP\ud800'"),
    (line()[:-1] + b', "deep": ' + b"[" * 1100 + b"]" * 1100 + b"}",
     "not valid JSON: nested too deeply"),
    (line()[:-1] + b', "big": ' + b"9" * 5000 + b"}",
     "not valid JSON: Exceeds the limit (4300 digits) for integer string conversion: "
     "value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit"),
]


@pytest.mark.parametrize("raw, reason", BAD)
def test_every_bad_line_is_left_to_the_per_line_reason_amid_good_lines(raw, reason):
    lines = [line(fmi=1), line(fmi=2), raw, line(fmi=3)] + [line(fmi=n) for n in range(40)]
    assert 2 in validate_chunk(lines, NOW, RULES).per_line
    assert outcome(lines) == (43, {2: reason})


def test_a_duplicated_key_is_read_as_python_reads_it_the_last_one():
    duplicated = line()[:-1] + b', "mid": 7}'
    lines = [duplicated] + [line(fmi=n) for n in range(40)]
    assert 0 in validate_chunk(lines, NOW, RULES).per_line
    assert outcome(lines) == (41, {})
    assert json_line_row(duplicated, NOW, RULES)[3] == "#1.7.456.789"


@pytest.mark.parametrize("raw", [
    line(serial_number="JAPé001"),  # not ASCII: valid, checked line by line
    line(model="J\\AP"),  # a backslash in the JSON text
    line(ts="2016-11-16T13:34:00.1234567Z"),  # 7 digits: fromisoformat takes them
    line(ts="2016-11-16 13:34:00Z"),
    line(extra="x" * 2000),  # longer than FAST_LINE_BYTES
    line() + b"\r",  # CRLF: accepted columnar, the CR is JSON whitespace
    line()[:-1] + b', "x": NaN, "y": {"a": 1, "a": 2}}',  # Python's json takes both
])
def test_lines_outside_the_columnar_forms_are_still_accepted(raw):
    assert outcome([raw] + [line(fmi=n) for n in range(40)]) == (41, {})


def test_the_tolerances_and_the_last_representable_instant_are_inclusive():
    lines = [line(ts="2016-11-19T20:30:00Z"),
             line(received_at="2016-11-21T12:00:00Z", ts="2016-11-21T12:00:00Z"),
             line(ts="2262-04-10T23:59:59.999999Z", received_at=...,),
             line(ts="1677-09-22T00:00:00+00:00", received_at="1677-09-22T00:00:00Z")]
    chunk = validate_chunk(lines, datetime(2262, 4, 10, tzinfo=UTC), RULES)
    assert chunk.per_line == []
    assert chunk.faults.ts_us.tolist() == [1479587400000000, 1479729600000000,
                                           9223286399999999, -9223286400000000]


def test_an_empty_chunk_has_no_faults():
    chunk = validate_chunk([], NOW, RULES)
    assert chunk.per_line == [] and len(chunk.faults) == 0


def test_instants_are_sent_as_the_driver_sends_a_datetime():
    # truncated toward zero like cassandra.cqltypes.DateType.serialize:
    # 1969-12-31T23:59:59.9995Z is sent as 0, not -1
    assert _driver_milliseconds(np.array([1479303240476999, -500, -1500, 0])).tolist() == \
        [1479303240476, 0, -1, 0]


def test_values_are_serialised_big_endian():
    assert _big_endian(np.array([17123 + 2**31]), ">u4") == [b"\x80\x00\x42\xe3"]
    assert _big_endian(np.array([9, -1]), ">i4") == [b"\x00\x00\x00\x09", b"\xff\xff\xff\xff"]
    assert _big_endian(np.array([1479303240476]), ">i8") == [b"\x00\x00\x01\x58\x6d\x58\x1b\x1c"]


def test_batches_begin_at_each_partition_and_every_batch_rows_within_one():
    day = np.array([1, 1, 1, 1, 1, 2, 2])
    shard = np.array([0, 0, 0, 3, 3, 3, 3])
    assert _batch_starts(day, shard, 2) == [0, 2, 3, 5]
    assert _batch_starts(day[:0], shard[:0], 2) == []


def test_a_line_longer_than_a_block_is_cut_and_the_next_one_read_whole():
    data = b"x" * 300 + b"\n\n" + b'{"a": 1}\n' + b"  \n" + b"y" * 50
    for block_bytes in (1, 7, 100, 301, 302, 310, 311, 312, 4096):
        chunks = list(read_chunks(io.BytesIO(data), max_bytes=100, rows=2,
                                  block_bytes=block_bytes))
        # the first chunk ends with line 3's newline, byte 311; the file at 364
        assert chunks == [([1, 3], [b"x" * 101, b'{"a": 1}'], 311), ([5], [b"y" * 50], 364)], \
            block_bytes


@pytest.mark.parametrize("ts, microseconds", [
    # as datetime.fromisoformat(ts) - 1970-01-01T00:00:00Z, in µs
    ("2016-11-18T03:38:20.111111+23:59", 1479353960111111),
    ("1900-12-19T23:15:59-03:30", -2178479641000000),
    ("2016-11-18T10:00:00.12-00:45", 1479465900120000),
])
def test_offsets_of_hours_and_minutes_are_taken_off(ts, microseconds):
    lines = [line(ts=ts, received_at="2016-11-19T20:00:00Z")] * 20
    chunk = validate_chunk(lines, NOW, RULES)
    assert chunk.per_line == []
    assert chunk.faults.ts_us.tolist() == [microseconds] * 20


def test_instants_of_a_slice_are_read_at_its_own_offsets():
    texts = pa.array(["2016-11-18T10:00:00Z", None, "2016-11-18T10:00:00.12-00:45", "nonsense",
                      "1900-12-19T23:15:59-03:30", "2016-11-18T03:38:20.111111+23:59"])[2:]
    instants, ok = _instants(texts)
    assert ok.tolist() == [True, False, True, True]
    # as datetime.fromisoformat(ts) - 1970-01-01T00:00:00Z, in µs
    assert instants[ok].tolist() == [1479465900120000, -2178479641000000, 1479353960111111]
