import subprocess
import sys
from datetime import UTC, datetime

import pytest

from spark_app.faults import Fault, fault_tag, shard_of


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
    code = "from spark_app.faults import shard_of; print([shard_of(f'S{i}', 16) for i in range(50)])"
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PYTHONHASHSEED": seed}, check=True).stdout
               for seed in ("1", "2", "3")}
    assert len(outputs) == 1


def test_day_bucket_is_the_utc_day_received():
    fault = Fault("S1", "M", "#A", datetime(2016, 11, 16, tzinfo=UTC),
                  datetime.fromisoformat("2016-11-18T23:30:00-03:00"))
    assert str(fault.day) == "2016-11-19"
