"""Rejects in the real Cassandra balance: ingesting a file again rewrites its
rejects instead of adding copies, and `db init` copies the legacy
rejected_messages rows into ingest_rejects under their new key, once however
often it runs."""

import json
import os
import uuid
from datetime import UTC, date, datetime

from cassandra.util import uuid_from_time

from spark_app.common.migration_steps import migrate_rejected_messages
from spark_app.ingest.records import Rejection
from spark_app.ingest.run import ingest
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.writer import IngestWriter, RowWriter
from tests.support.ingest import clear_days, ingest_config, rejections, rejects_of

DAY = date(2006, 8, 1)


def test_ingesting_a_file_again_keeps_one_reject_per_bad_line(cassandra, tmp_path,
                                                               monkeypatch):
    quick = ingest_config()
    clear_days(cassandra, quick, [DAY])
    good = json.dumps({"serial_number": "JAP1", "model": "JAP", "kind": "event", "mid": 1,
                       "cid": 2, "fmi": 3, "ts": "2006-08-01T10:00:00Z",
                       "received_at": "2006-08-01T11:00:00Z"})
    path = tmp_path / "again.jsonl"
    path.write_text("\n".join([good, "not json", good, '{"kind": "event"}', "[]"]) + "\n")

    monkeypatch.chdir(tmp_path)
    for named in (str(path), str(path), "again.jsonl", "./again.jsonl"):
        summary = ingest(quick, [named])
        assert (summary.faults, summary.rejected, summary.exit_code) == (2, 3, 0), named
        assert len(rejections(cassandra, str(path))) == 3, f"after ingesting {named}"
    rejects = rejects_of(cassandra, str(path))
    assert sorted(rejects) == [2, 4, 5]
    assert rejects[2] == ("not valid JSON: Expecting value: line 1 column 1 (char 0)",
                          "not json")
    assert rejects[5] == ("a line must hold a JSON object, got list", "[]")


def test_a_file_whose_name_is_not_utf8_is_ingested_and_its_rejects_kept(cassandra, tmp_path):
    quick = ingest_config()
    clear_days(cassandra, quick, [DAY])
    name = os.fsencode(tmp_path) + b"/caf\xe9.jsonl"  # Latin-1, as an old system writes it
    with open(name, "wb") as handle:
        handle.write(b"not json\n")
    summary = ingest(quick, [os.fsdecode(name)])
    assert (summary.faults, summary.rejected, summary.exit_code) == (0, 1, 0), summary.text()
    assert rejects_of(cassandra, f"{tmp_path}/caf\ufffd.jsonl") == {
        1: ("not valid JSON: Expecting value: line 1 column 1 (char 0)", "not json")}


def test_db_init_copies_legacy_rejects_under_their_new_key_once(cassandra, config):
    unique = uuid.uuid4().hex
    path = f"/legacy-{unique}/drop/part-1.jsonl"
    page = f"http://legacy-{unique}.example:8080/Fleet/FaultCodes?after=100"
    earlier = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    later = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    legacy = [  # the newer refusal of line 2 first: write order must not matter
        (later, f"{path}:2", "newer reason", "newer payload"),
        (earlier, f"{path}:2", "older reason", "older payload"),
        (earlier, f"{path}:7", "line 7 reason", "line 7"),
        (later, f"{page}#FaultCode[3]", "MID is missing", "<FaultCode/>"),
        (later, page, "page refused: not well-formed XML", "<?xml"),
    ]
    insert = cassandra.prepare("INSERT INTO rejected_messages (day, id, source, reason, payload) "
                               "VALUES (?, ?, ?, ?, ?)")
    ids = []
    for when, source, reason, payload in legacy:
        ids.append((when.date(), uuid_from_time(when)))
        cassandra.execute(insert, (*ids[-1], source, reason, payload))
    # line 7 refused again by ingestion since: a newer reject the copy must leave alone
    settings = IngestSettings.from_config(ingest_config())
    writer = IngestWriter(cassandra, settings.keyspace, settings.rules.shards,
                          RowWriter(cassandra, settings.retry, settings.concurrency),
                          settings.batch_rows)
    writer.write_rejections([Rejection(path, 7, "refused again today", "line 7 today")])

    try:
        for _ in range(2):  # migration 12 of `fleetwatch db init`, run twice
            migrate_rejected_messages(cassandra, config.get("cassandra", "keyspace"))
            assert rejects_of(cassandra, path) == {
                2: ("newer reason", "newer payload"),
                7: ("refused again today", "line 7 today")}
            assert rejects_of(cassandra, page) == {
                0: ("page refused: not well-formed XML", "<?xml"),
                3: ("MID is missing", "<FaultCode/>")}
        rejected_at = cassandra.execute(
            cassandra.prepare("SELECT rejected_at FROM ingest_rejects "
                              "WHERE source = ? AND position = ?"), (path, 2)).one().rejected_at
        assert rejected_at.replace(tzinfo=UTC) == later, "when it was last refused"
    finally:
        delete = cassandra.prepare("DELETE FROM rejected_messages WHERE day = ? AND id = ?")
        for key in ids:
            cassandra.execute(delete, key)
