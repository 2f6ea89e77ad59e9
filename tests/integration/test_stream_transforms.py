"""The stream's DataFrame -> DataFrame steps on small frames (batch, real Spark)."""

from datetime import UTC, datetime, timedelta

import pytest

from spark_app.stream import readings as r
from spark_app.stream.readings import ReadingRules, parse_readings
from spark_app.stream.rejected_readings import with_record_keys
from spark_app.stream.windows import collect_window_stats, decisive, windowed_averages

ARRIVED = datetime(2024, 5, 1, 12, 0)
LINE_SCHEMA = "value string, source string, position string, received_at timestamp"


def parse(spark, *lines):
    frame = spark.createDataFrame([(line, "f.jsonl", None, ARRIVED) for line in lines],
                                  LINE_SCHEMA)
    return parse_readings(frame, ReadingRules()).collect()


@pytest.mark.parametrize("line, reason", [
    ('{"equipment_id": "A", "ts": "2024-05-01T10:00:00Z", "temperature_c": 73.4}', None),
    ('{"equipment_id": "A", "ts": "2024-05-01T10:00:00Z", "temperature_c": "73.4"}', None),
    ("A,2024-05-01T10:00:00Z,73.4,EX200", None),
    (" A , 2024-05-01 10:00:00 , -59.9 ", None),
    ("{bad", r.NOT_JSON),
    ("[1, 2]", r.CSV_FIELDS),
    ('{"ts": "2024-05-01T10:00:00Z", "temperature_c": 1}', r.NO_EQUIPMENT),
    (",2024-05-01T10:00:00Z,1", r.NO_EQUIPMENT),
    ('{"equipment_id": "A", "temperature_c": 1}', r.BAD_TS),
    ("A,10 o'clock,1", r.BAD_TS),
    ('{"equipment_id": "A", "ts": "2024-05-01T10:00:00Z"}', r.NOT_A_NUMBER),
    ("A,2024-05-01T10:00:00Z,warm", r.NOT_A_NUMBER),
    ('{"equipment_id": "A", "ts": "2024-05-01T10:00:00Z", "temperature_c": {"v": 1}}',
     r.NOT_A_NUMBER),
    ("A,2024-05-01T10:00:00Z,400.1", r.IMPOSSIBLE),
    ("A,2024-05-01T10:00:00Z,NaN", r.IMPOSSIBLE),
    ("A,2024-05-01T10:00:00Z,-Infinity", r.IMPOSSIBLE),
    ("A,2024-05-01T12:05:01Z,20", r.FROM_THE_FUTURE),
    ("A,2024-05-01T10:00:00Z,20,EX200,extra", r.CSV_FIELDS),
])
def test_each_line_is_a_reading_or_has_a_reason(spark, line, reason):
    [row] = parse(spark, line)
    assert row.reject_reason == reason
    assert row.payload == line
    if reason is None:
        assert row.equipment_id == "A" and row.temperature_c is not None
        assert row.ts == datetime(2024, 5, 1, 10, 0)


def test_headers_and_blank_lines_are_not_readings(spark):
    rows = parse(spark, "equipment_id,ts,temperature_c,model", "", "   ",
                 "A,2024-05-01T10:00:00Z,20")
    assert [(row.equipment_id, row.reject_reason) for row in rows] == [("A", None)]


def test_model_is_optional(spark):
    rows = parse(spark, "A,2024-05-01T10:00:00Z,20,", "A,2024-05-01T10:00:00Z,20,EX200")
    assert [row.model for row in rows] == [None, "EX200"]


def test_sliding_windows_average_max_and_count_per_equipment(spark):
    t0 = datetime(2024, 5, 1, 10, 0)
    readings = spark.createDataFrame(
        [("A", t0 + timedelta(minutes=m), float(t), "EX200")
         for m, t in [(0, 60), (5, 90), (9, 120), (12, 30)]]
        + [("B", t0, 40.0, None)],
        "equipment_id string, ts timestamp, temperature_c double, model string")
    windows = windowed_averages(readings, "10 minutes", "5 minutes", "2 minutes")
    got = {(w.equipment_id, w.window_start.strftime("%H:%M")): (w.avg_c, w.max_c, w.readings,
                                                                 w.model)
           for w in collect_window_stats(windows)}
    assert got == {
        ("A", "09:55"): (60.0, 60.0, 1, "EX200"),
        ("A", "10:00"): (90.0, 120.0, 3, "EX200"),
        ("A", "10:05"): (80.0, 120.0, 3, "EX200"),
        ("A", "10:10"): (30.0, 30.0, 1, "EX200"),
        ("B", "09:55"): (40.0, 40.0, 1, None),
        ("B", "10:00"): (40.0, 40.0, 1, None),
    }


def test_windows_when_the_window_is_no_multiple_of_the_slide(spark):
    # 10-minute windows every 3 minutes start at :51, :54, :57, :00 …; 10:00:30 and
    # 10:02:30 share a 3-minute slide but not their windows ([09:51, 10:01) holds only
    # the first): the partial sums must be cut at 1 minute, gcd(10, 3), not at the slide
    t0 = datetime(2024, 5, 1, 10, 0, 30)
    readings = spark.createDataFrame(
        [("A", t0, 50.0, "EX200"), ("A", t0 + timedelta(minutes=2), 70.0, "EX200")],
        "equipment_id string, ts timestamp, temperature_c double, model string")
    windows = windowed_averages(readings, "10 minutes", "3 minutes", "2 minutes")
    got = {w.window_start.strftime("%H:%M"): (w.avg_c, w.max_c, w.readings)
           for w in collect_window_stats(windows)}
    assert got == {"09:51": (50.0, 50.0, 1), "09:54": (60.0, 70.0, 2),
                   "09:57": (60.0, 70.0, 2), "10:00": (60.0, 70.0, 2)}


WINDOWS_SCHEMA = ("equipment_id string, window_start timestamp, window_end timestamp, "
                  "model string, avg_c double, max_c double, readings long")


WINDOWS_T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def windows_ending(spark, ends):
    """(equipment, end minute after 10:00) -> 10-minute windows as windowed_averages emits."""
    t0 = WINDOWS_T0
    return spark.createDataFrame(
        [(equipment, t0 + timedelta(minutes=end - 10), t0 + timedelta(minutes=end), "EX200",
          100.0, 103.0, 60) for equipment, end in ends], WINDOWS_SCHEMA)


def decisive_ends(windows):
    return sorted((w.equipment_id, int((w.window_end - WINDOWS_T0).total_seconds() // 60))
                  for w in collect_window_stats(decisive(windows, 60)))


def test_decisive_windows_are_the_trailing_one_and_older_per_equipment(spark):
    # sliding 10-minute windows every minute; EX-1's newest reading is in [10:20, 10:21),
    # so its windows ending after 10:21 cover less than 9 minutes of readings
    windows = windows_ending(spark, [("EX-1", end) for end in range(15, 31)]     # 10:15 … 10:30
                             + [("EX-2", end) for end in range(5, 16)])          # 10:05 … 10:15
    assert decisive_ends(windows) == [("EX-1", m) for m in range(15, 22)] + \
        [("EX-2", m) for m in range(5, 7)]


def test_a_lone_newest_window_is_not_decisive_until_readings_move_on(spark):
    # a window starting at 10:20: at most its first minute of readings
    assert decisive_ends(windows_ending(spark, [("EX-1", 30)])) == []
    assert decisive_ends(windows_ending(spark, [("EX-1", 30), ("EX-1", 21)])) == [("EX-1", 21)]


def test_readings_are_summed_per_bucket_before_the_sliding_windows_expand_them(spark):
    # Expanding every reading into its window/slide windows was most of a micro-batch:
    # the expansion must read the partial sums (MapInArrow), not the readings.
    readings = spark.createDataFrame(
        [("A", datetime(2024, 5, 1, 10, 0), 50.0, "EX200")],
        "equipment_id string, ts timestamp, temperature_c double, model string")
    plan = windowed_averages(readings, "10 minutes", "1 minute", "2 minutes") \
        ._jdf.queryExecution().executedPlan().toString()
    assert plan.index("Expand") < plan.index("MapInArrow")  # the plan prints parents first


def test_each_lines_time_is_parsed_once(spark):
    # The reject-reason filter mentions the time four times: above the fence it reads
    # the parsed column instead of parsing the text again.
    frame = spark.createDataFrame([("A,2024-05-01T10:00:00Z,73.4", "f", None, ARRIVED)],
                                  LINE_SCHEMA)
    plan = r.valid_readings(parse_readings(frame, ReadingRules())) \
        ._jdf.queryExecution().executedPlan().toString()
    assert plan.count("as timestamp)") == 1, plan


def test_rejected_lines_get_keys_that_a_replay_reproduces(spark):
    rejected = spark.createDataFrame(
        [("file:/r/a.jsonl", None, ARRIVED, "why", "{bad"),
         ("file:/r/a.jsonl", None, ARRIVED, "why", "{bad"),
         ("file:/r/b.jsonl", None, ARRIVED, "why", "{bad"),
         ("topic/1", "17:0", ARRIVED, "why", "{bad")],
        "source string, position string, received_at timestamp, reason string, payload string")
    keys = sorted((row.source, row.record_key) for row in with_record_keys(rejected).collect())
    # 17eed55d881c0dd5: the first 16 hex digits of SHA-256("{bad") (`printf '{bad' | sha256sum`)
    assert keys == [("file:/r/a.jsonl", "17eed55d881c0dd5#1"),
                    ("file:/r/a.jsonl", "17eed55d881c0dd5#2"),
                    ("file:/r/b.jsonl", "17eed55d881c0dd5#1"), ("topic/1", "17:0")]
    again = sorted((row.source, row.record_key) for row in with_record_keys(rejected).collect())
    assert again == keys
