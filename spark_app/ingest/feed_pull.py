"""Pulling a paged XML feed (spark_app.ingest.feed_xml) into Cassandra, from the
cursor kept in `feed_cursor`.

One pull: start at the stored cursor (the feed URL itself the first time),
fetch the page, write its faults and rejected records, then move the cursor
to the page's `next` link and go on. The cursor moves only after the page is
written, so a crash re-fetches at most one page, and re-writing it is an
upsert. A page without a `next` link is the end for now: the cursor stays on
it and the next pull fetches it again, with whatever the feed has appended.

A feed that answers 5xx, 429, not at all, or too slowly (a page must arrive
whole within ingest.feed_page_deadline_s, however it trickles) is retried
with backoff; when retries run out, or on a page that cannot be parsed or
that redirects to another host (recorded in `ingest_rejects`), the pull stops
with FeedError and the cursor stays on that page. Redirects, like `next`
links, must stay on the feed's scheme and host.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from datetime import UTC, datetime
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import (
    HTTPHandler,
    HTTPRedirectHandler,
    HTTPSHandler,
    Request,
    build_opener,
)

from spark_app.ingest.feed_xml import MalformedPage, parse_page, record_row
from spark_app.ingest.records import Invalid, Rejection, bounded_payload
from spark_app.ingest.settings import IngestSettings
from spark_app.ingest.tally import Tally
from spark_app.ingest.writer import CassandraUnavailable, IngestWriter, RowWriter

# A page's URL keys its rejects (ingest_rejects.source): far below Cassandra's
# 64 KiB key, and above what web servers accept (8 KiB is common).
MAX_URL_CHARS = 8192


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


class _PageDeadline:
    """Shuts the page's connections down once `seconds` have passed: the socket
    timeout bounds each wait for a byte, not a page sent a byte at a time."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.passed = False
        self._timers: list[threading.Timer] = []

    def watch(self, sock: socket.socket) -> None:
        timer = threading.Timer(max(self.ends - time.monotonic(), 0.0), self._cut, (sock,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _cut(self, sock: socket.socket) -> None:
        self.passed = True
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed: the fetch has ended anyway

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _watched(connection_class, deadline: _PageDeadline):
    class WatchedConnection(connection_class):
        def connect(self) -> None:
            super().connect()
            deadline.watch(self.sock)

    return WatchedConnection


class _WatchedHTTPHandler(HTTPHandler):
    def __init__(self, deadline: _PageDeadline):
        super().__init__()
        self.connection = _watched(http.client.HTTPConnection, deadline)

    def http_open(self, request):
        return self.do_open(self.connection, request)


class _WatchedHTTPSHandler(HTTPSHandler):
    def __init__(self, deadline: _PageDeadline):
        super().__init__()
        self.connection = _watched(http.client.HTTPSConnection, deadline)

    def https_open(self, request):
        return self.do_open(self.connection, request, context=self._context)


class _SameHostRedirects(HTTPRedirectHandler):
    """Follows a redirect only on the feed's scheme and host, as `next` links."""

    def __init__(self, feed: str):
        self.feed = feed

    def redirect_request(self, request, fp, code, msg, headers, newurl):
        if not _same_host(newurl, self.feed):
            fp.close()
            raise MalformedPage(f"HTTP {code} redirects off the feed's host to {newurl}")
        return super().redirect_request(request, fp, code, msg, headers, newurl)


def fetch(url: str, feed: str, timeout_s: float, deadline_s: float, max_bytes: int) -> bytes:
    """The page body, at most max_bytes + 1 bytes of it (enough to see it is too big),
    received whole within deadline_s."""
    deadline = _PageDeadline(deadline_s)
    opener = build_opener(_WatchedHTTPHandler(deadline), _WatchedHTTPSHandler(deadline),
                          _SameHostRedirects(feed))
    request = Request(url, headers={"Accept": "application/xml"})
    try:
        with opener.open(request, timeout=timeout_s) as response:
            body = response.read(max_bytes + 1)
    except HTTPError as error:
        if error.code >= 500 or error.code == 429:
            raise _FeedUnavailable(f"HTTP {error.code} {error.reason}") from None
        raise FeedError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (URLError, TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise _FeedUnavailable(_late(deadline) if deadline.passed
                               else f"{type(error).__name__}: {error}") from None
    except OSError:
        if deadline.passed:  # whatever a connection shut mid-read raises
            raise _FeedUnavailable(_late(deadline)) from None
        raise
    finally:
        deadline.cancel()
    if deadline.passed:  # cut short, or whole just as it was cut
        raise _FeedUnavailable(_late(deadline))
    return body


def _late(deadline: _PageDeadline) -> str:
    return (f"the page did not arrive within ingest.feed_page_deadline_s "
            f"({deadline.seconds:g} s)")


def _same_host(url: str, feed: str) -> bool:
    return urlsplit(url)[:2] == urlsplit(feed)[:2]


def pull_feed(feed: str, writer: IngestWriter, cursor: FeedCursor, settings: IngestSettings,
              tally: Tally) -> None:
    url = cursor.load(feed) or feed
    while True:
        body = b""  # what a redirect off the host leaves to keep
        try:
            body = _fetch_with_retries(url, feed, settings)
            fetched_at = datetime.now(UTC)
            page = parse_page(body, settings.max_page_bytes)
            next_url = _next_url(page.next_url, url, feed)
        except MalformedPage as malformed:
            payload = bounded_payload(body, settings.max_reject_payload_bytes)
            writer.write_rejections([Rejection(url, 0, f"page refused: {malformed}", payload)])
            tally.add([], 1)
            raise FeedError(f"{url}: {malformed}; the cursor stays on this page") from None
        faults, rejections = [], []
        for index, record in enumerate(page.records, 1):
            try:
                faults.append(record_row(record, fetched_at, settings.rules))
            except Invalid as invalid:
                payload = bounded_payload(record.xml(), settings.max_reject_payload_bytes)
                rejections.append(Rejection(url, index, str(invalid), payload))
        writer.write_faults(faults)
        writer.write_rejections(rejections)
        tally.pages += 1
        tally.add(faults, len(rejections))
        cursor.save(feed, next_url or url)
        if next_url is None:
            return
        url = next_url


def _fetch_with_retries(url: str, feed: str, settings: IngestSettings) -> bytes:
    try:
        for attempt in settings.retry.retrying(_FeedUnavailable, f"fetching {url}"):
            with attempt:
                return fetch(url, feed, settings.feed_timeout_s, settings.feed_page_deadline_s,
                             settings.max_page_bytes)
    except _FeedUnavailable as error:
        raise FeedError(f"{url}: {error}, still after {settings.retry.attempts} attempts "
                        "(ingest.retry_attempts); the cursor stays on this page") from None


def _next_url(href: str | None, page_url: str, feed: str) -> str | None:
    """The absolute next link, or None at the end. A link back to the same
    page ends the pull too (instead of looping); one to another host is refused,
    and so is one longer than MAX_URL_CHARS."""
    if not href:
        return None
    resolved = urljoin(page_url, href)
    if len(resolved) > MAX_URL_CHARS:
        raise MalformedPage(f"the next link is longer than {MAX_URL_CHARS} characters "
                            f"({len(resolved):,})")
    if resolved == page_url:
        return None
    if not _same_host(resolved, feed):
        raise MalformedPage(f"the next link leaves the feed's host: {resolved}")
    return resolved
