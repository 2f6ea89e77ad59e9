"""The batches ingest builds from columns are, byte for byte, those the
driver builds by binding each row to the prepared INSERT (what the bench's
floor sends), and what they write reads back as the faults."""

import json
from datetime import UTC, date, datetime, timedelta, timezone

from spark_app.ingest.columnar import validate_chunk
from spark_app.ingest.faults import FaultWriter
from spark_app.ingest.records import RecordRules, json_line_row

RULES = RecordRules(shards=16, max_record_bytes=8192, future_tolerance=timedelta(days=1))
NOW = datetime(2016, 11, 20, 12, 0, tzinfo=UTC)


def lines() -> list[bytes]:
    """360 faults of 3 serials (shards 14, 8 and 2) over 2 days, so 60 in each
    partition, with fractions of milliseconds and offsets; and one before 1970."""
    made = []
    for n in range(360):
        received = datetime(2016, 11, 18 + n % 2, 20, 30, tzinfo=UTC)
        ts = received - timedelta(hours=1, seconds=n, microseconds=999_999 - n)
        made.append(json.dumps({
            "serial_number": f"JAP{n % 3:05d}", "model": "JAP",
            "kind": ("event", "diagnostic")[n % 2], "mid": n, "cid": 456, "fmi": n % 32,
            "ts": ts.astimezone(UTC if n % 3 else timezone(timedelta(hours=-3))).isoformat(),
            "received_at": received.isoformat().replace("+00:00", "Z")}).encode())
    made.append(b'{"serial_number": "OLD1", "model": "OLD", "kind": "event", "mid": 1, '
                b'"cid": 2, "fmi": 3, "ts": "1969-12-31T23:59:59.9995Z", '
                b'"received_at": "1970-01-01T00:00:00Z"}')
    return made


def contents(batches) -> list:
    return sorted((batch.batch_type, batch.routing_key, batch.keyspace,
                   [(prepared, query_id, tuple(values))
                    for prepared, query_id, values in batch._statements_and_parameters])
                  for batch in batches)


def test_column_batches_are_the_drivers_own_batches_byte_for_byte(cassandra, config):
    writer = FaultWriter(cassandra, config.get("cassandra", "keyspace"), batch_rows=50)
    chunk = validate_chunk(lines(), NOW, RULES)
    assert chunk.per_line == []
    rows = [json_line_row(line, NOW, RULES) for line in lines()]
    built = writer.column_batches(chunk.faults)
    assert sorted(len(batch) for batch in built) == [1] + [10] * 6 + [50] * 6
    assert contents(built) == contents(writer.batches(rows))


def test_what_column_batches_write_reads_back_as_the_faults(cassandra, config):
    writer = FaultWriter(cassandra, config.get("cassandra", "keyspace"), batch_rows=50)
    partition = (date(1970, 1, 1), 8)  # crc32(b"OLD1") % 16; no other test writes that day
    cassandra.execute("DELETE FROM faults WHERE day = %s AND shard = %s", partition)
    for batch in writer.column_batches(validate_chunk(lines()[-1:] * 20, NOW, RULES).faults):
        cassandra.execute(batch)
    rows = cassandra.execute("SELECT model, tag, serial_number, ts, received_at FROM faults "
                             "WHERE day = %s AND shard = %s", partition).all()
    # the driver sends 1969-12-31T23:59:59.9995 as 0 ms (it truncates toward zero)
    assert [tuple(row) for row in rows] == [
        ("OLD", "#1.1.2.3", "OLD1", datetime(1970, 1, 1), datetime(1970, 1, 1))]
