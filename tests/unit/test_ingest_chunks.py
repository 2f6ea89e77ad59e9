"""ingest_jsonl's chunks, two written at once (no Cassandra: a writer that
records what it is given and fails where told)."""

import json
import threading

import pytest

from spark_app.common.config import load_config
from spark_app.ingest.jsonl import ingest_jsonl
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.tally import Tally
from spark_app.ingest.writer import CassandraUnavailable


class Writer:
    """Records the fmi of the faults of each chunk it writes; fails the chunk
    whose first fault has fmi `failing`."""

    def __init__(self, failing: int | None = None):
        self.failing = failing
        self.chunks: list[list[int]] = []
        self.rejected: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def write_faults(self, faults, columns, share=1):
        fmis = sorted([int(fault.tag.rsplit(".", 1)[1]) for fault in faults] +
                      [int(tag.rsplit(b".", 1)[1]) for tag in columns.tag.to_pylist()])
        with self.lock:
            self.chunks.append(fmis)
        if fmis and fmis[0] == self.failing:
            raise CassandraUnavailable("Cassandra still unavailable after 3 attempts")
        return 0.0  # seconds spent building batches: none here

    def write_rejections(self, rejections):
        with self.lock:
            self.rejected += [(rejection.position, rejection.reason) for rejection in rejections]


def file_of(tmp_path, lines: int, bad: int | None = None):
    path = tmp_path / "faults.jsonl"
    records = [json.dumps({"serial_number": f"JAP{n:05d}", "model": "JAP", "kind": "event",
                           "mid": 1, "cid": 2, "fmi": n, "ts": "2016-11-16T13:34:00Z",
                           "received_at": "2016-11-18T20:30:00Z"}) for n in range(lines)]
    if bad is not None:
        records[bad] = records[bad].replace('"mid": 1', '"mid": "1"')
    path.write_text("\n".join(records) + "\n")
    return path


SETTINGS = IngestSettings.from_config(load_config(environ={"FLEETWATCH_INGEST_CHUNK_ROWS": "10"}))


def test_every_chunk_is_written_and_counted_with_its_rejects(tmp_path):
    writer, tally = Writer(), Tally("file")
    ingest_jsonl(file_of(tmp_path, 45, bad=12), writer, SETTINGS, tally)
    assert sorted(writer.chunks) == [list(range(0, 10)), [10, 11, *range(13, 20)],
                                     list(range(20, 30)), list(range(30, 40)),
                                     list(range(40, 45))]
    assert writer.rejected == [(13, "mid must be a JSON integer, not a string: '1'")]
    assert (tally.faults, tally.rejected) == (44, 1)
    assert sum(tally.days.values()) == 44


def test_a_failed_chunk_stops_the_file_and_what_was_acknowledged_is_counted(tmp_path):
    writer, tally = Writer(failing=10), Tally("file")
    with pytest.raises(CassandraUnavailable):
        ingest_jsonl(file_of(tmp_path, 45), writer, SETTINGS, tally)
    # chunks 1 and 2 are sent, chunk 3 once 1 is acknowledged; 2's failure stops
    # the file before chunk 4 is sent; 1 and 3 are counted
    assert sorted(writer.chunks) == [list(range(0, 10)), list(range(10, 20)),
                                     list(range(20, 30))]
    assert tally.faults == 20
