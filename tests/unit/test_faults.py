import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from schemas.faults import Fault, fault_tag, format_tag, shard_of
from schemas.spark import FAULTS
from spark_app.ingest.faults import partition_chunks


@pytest.mark.parametrize("kind, codes, tag", [
    ("event", (123, 456, 789), "#1.123.456.789"),
    ("diagnostic", (234, 345, 456), "#2.234.345.456"),
])
def test_tag_of_event_and_diagnostic(kind, codes, tag):
    assert fault_tag(kind, *codes) == tag


def test_shard_is_crc32_of_the_serial():
    # 0xCBF43926 is CRC-32's published check value for "123456789".
    assert shard_of("123456789", 16) == 0xCBF43926 % 16
    assert shard_of("123456789", 1000) == 0xCBF43926 % 1000


def test_shard_does_not_depend_on_the_process():
    code = "from schemas.faults import shard_of; print([shard_of(f'S{i}', 16) for i in range(50)])"
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PYTHONHASHSEED": seed}, check=True).stdout
               for seed in ("1", "2", "3")}
    assert len(outputs) == 1


def test_day_bucket_is_the_utc_day_received():
    fault = Fault.of("S1", "M", "#A", datetime(2016, 11, 16, tzinfo=UTC),
                     datetime.fromisoformat("2016-11-18T23:30:00-03:00"), 16)
    assert str(fault.day) == "2016-11-19"


def test_a_fault_is_a_row_of_faults_in_its_column_order():
    received = datetime(2016, 11, 18, 20, 30, tzinfo=UTC)
    fault = Fault.of("123456789", "JAP", "#1.123.456.789", datetime(2016, 11, 16, tzinfo=UTC),
                     received, 16)
    assert Fault._fields == tuple(FAULTS.fieldNames())
    # shard 6: CRC-32 of "123456789" is 0xCBF43926, whose last hex digit is 6
    assert tuple(fault) == (date(2016, 11, 18), 6, "JAP", "#1.123.456.789",
                            "123456789", datetime(2016, 11, 16, tzinfo=UTC), received)


def test_the_tag_format_of_a_kind_code():
    assert format_tag(2, 0, 2147483647, 31) == "#2.0.2147483647.31"


def test_batches_hold_rows_of_one_partition_and_at_most_the_size():
    rows = [("d1", 0, "a"), ("d1", 1, "b"), ("d1", 0, "c"), ("d2", 0, "d"), ("d1", 0, "e"),
            ("d1", 0, "f")]
    chunks = partition_chunks(rows, key_length=2, size=2)
    # ("d1", 0) has four rows: two chunks of two; the other partitions one each
    assert sorted(map(sorted, chunks)) == sorted([
        sorted([("d1", 0, "a"), ("d1", 0, "c")]), sorted([("d1", 0, "e"), ("d1", 0, "f")]),
        [("d1", 1, "b")], [("d2", 0, "d")]])


def test_every_row_is_in_exactly_one_batch():
    rows = [(day, shard, n) for n in range(100) for day in ("d1", "d2") for shard in range(3)]
    chunks = partition_chunks(rows, key_length=2, size=7)
    assert sorted(row for chunk in chunks for row in chunk) == sorted(rows)
    assert all(len({row[:2] for row in chunk}) == 1 and 1 <= len(chunk) <= 7 for chunk in chunks)
