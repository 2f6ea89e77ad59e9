"""Where a legacy rejected_messages `source` says a record was (no I/O)."""

import pytest

from spark_app.common.migration_steps import legacy_key


@pytest.mark.parametrize("source, key", [
    ("/data/drop/part-1.jsonl:12", ("/data/drop/part-1.jsonl", 12)),
    ("relative/a:b.jsonl:3", ("relative/a:b.jsonl", 3)),
    ("http://feed:8765/Fleet/FaultCodes?after=500#FaultCode[7]",
     ("http://feed:8765/Fleet/FaultCodes?after=500", 7)),
    ("http://feed:8765/Fleet/FaultCodes?after=500", ("http://feed:8765/Fleet/FaultCodes?after=500", 0)),
    ("http://feed:8765", ("http://feed:8765", 0)),  # a port is not a line number
    ("https://feed/F", ("https://feed/F", 0)),
    ("no-line-number.jsonl", ("no-line-number.jsonl", 0)),
])
def test_a_legacy_source_splits_into_source_and_position(source, key):
    assert legacy_key(source) == key
