"""`ingest_rejects`: every record or page ingestion refused, keyed by where it
was (source, position), so refusing it again rewrites its row."""

from __future__ import annotations

from datetime import datetime

from spark_app.ingest.records import Rejection

INSERT_REJECT = ("INSERT INTO {keyspace}.ingest_rejects "
                 "(source, position, reason, payload, rejected_at) VALUES (?, ?, ?, ?, ?)")


def reject_rows(rejections: list[Rejection], rejected_at: datetime) -> list[tuple]:
    """The parameters of INSERT_REJECT."""
    return [(rejection.source, rejection.position, rejection.reason, rejection.payload,
             rejected_at) for rejection in rejections]
