"""Pulling a paged XML feed (spark_app.ingest.feed_xml) into Cassandra, from the
cursor kept in `feed_cursor`.

One pull: start at the stored cursor (the feed URL itself the first time),
fetch the page, write its faults and rejected records, then move the cursor
to the page's `next` link and go on. The cursor moves only after the page is
written, so a crash re-fetches at most one page, and re-writing it is an
upsert. A page without a `next` link is the end for now: the cursor stays on
it and the next pull fetches it again, with whatever the feed has appended.

A feed that answers 5xx, 429 or not at all is retried with backoff; when
retries run out, or on a page that cannot be parsed (recorded in
`rejected_messages`), the pull stops with FeedError and the cursor stays on
that page.
"""

from __future__ import annotations

import http.client
from datetime import UTC, datetime
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import Request, urlopen

from spark_app.ingest.feed_xml import MalformedPage, parse_page, record_row
from spark_app.ingest.records import Invalid, Rejection, bounded_payload
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.tally import Tally
from spark_app.ingest.writer import CassandraUnavailable, IngestWriter, RowWriter


class FeedError(RuntimeError):
    """The pull stopped; the cursor stays on the page that failed."""


class _FeedUnavailable(Exception):
    """A failure worth retrying: 5xx, 429, refused connection, timeout."""


class FeedCursor:
    """`feed_cursor`: per feed URL, the URL of the next page to fetch."""

    def __init__(self, session, keyspace: str, rows: RowWriter):
        self.session = session
        self.rows = rows
        self.select = session.prepare(
            f"SELECT next_url FROM {keyspace}.feed_cursor WHERE feed = ?")
        self.upsert = session.prepare(
            f"INSERT INTO {keyspace}.feed_cursor (feed, next_url, updated_at) VALUES (?, ?, ?)")

    def load(self, feed: str) -> str | None:
        try:
            for attempt in self.rows.retry.retrying(self.rows.transient, "reading the cursor"):
                with attempt:
                    row = self.session.execute(self.select, (feed,)).one()
        except self.rows.transient as error:
            raise CassandraUnavailable(f"cannot read the cursor of {feed}: {error}") from None
        return row.next_url if row else None

    def save(self, feed: str, next_url: str) -> None:
        self.rows.execute(self.upsert, [(feed, next_url, datetime.now(UTC))])


def fetch(url: str, timeout_s: float, max_bytes: int) -> bytes:
    """The page body, at most max_bytes + 1 bytes of it (enough to see it is too big)."""
    request = Request(url, headers={"Accept": "application/xml"})
    try:
        with urlopen(request, timeout=timeout_s) as response:
            return response.read(max_bytes + 1)
    except HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise _FeedUnavailable(f"HTTP {error.code} {error.reason}") from None
        raise FeedError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (URLError, TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise _FeedUnavailable(f"{type(error).__name__}: {error}") from None


def pull_feed(feed: str, writer: IngestWriter, cursor: FeedCursor, settings: IngestSettings,
              tally: Tally) -> None:
    url = cursor.load(feed) or feed
    while True:
        body = _fetch_with_retries(url, settings)
        fetched_at = datetime.now(UTC)
        try:
            page = parse_page(body, settings.max_page_bytes)
            next_url = _next_url(page.next_url, url, feed)
        except MalformedPage as malformed:
            payload = bounded_payload(body, settings.max_reject_payload_bytes)
            writer.write_rejections([Rejection(url, f"page refused: {malformed}", payload)],
                                    fetched_at.date())
            tally.add([], 1)
            raise FeedError(f"{url}: {malformed}; the cursor stays on this page") from None
        faults, rejections = [], []
        for index, record in enumerate(page.records, 1):
            try:
                faults.append(record_row(record, fetched_at, settings.rules))
            except Invalid as invalid:
                payload = bounded_payload(record.xml(), settings.max_reject_payload_bytes)
                rejections.append(Rejection(f"{url}#FaultCode[{index}]", str(invalid), payload))
        writer.write_faults(faults)
        writer.write_rejections(rejections, fetched_at.date())
        tally.pages += 1
        tally.add(faults, len(rejections))
        cursor.save(feed, next_url or url)
        if next_url is None:
            return
        url = next_url


def _fetch_with_retries(url: str, settings: IngestSettings) -> bytes:
    try:
        for attempt in settings.retry.retrying(_FeedUnavailable, f"fetching {url}"):
            with attempt:
                return fetch(url, settings.feed_timeout_s, settings.max_page_bytes)
    except _FeedUnavailable as error:
        raise FeedError(f"{url}: {error}, still after {settings.retry.attempts} attempts "
                        "(ingest.retry_attempts); the cursor stays on this page") from None


def _next_url(href: str | None, page_url: str, feed: str) -> str | None:
    """The absolute next link, or None at the end. A link back to the same
    page ends the pull too (instead of looping); one to another host is refused."""
    if not href:
        return None
    resolved = urljoin(page_url, href)
    if resolved == page_url:
        return None
    if urlsplit(resolved)[:2] != urlsplit(feed)[:2]:
        raise MalformedPage(f"the next link leaves the feed's host: {resolved}")
    return resolved
