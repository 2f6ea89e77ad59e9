"""A simulated paged fault feed (the format of spark_app.ingest.feed_xml) served over
HTTP on loopback, for `fleetwatch simulate feed` and for tests.

    GET /Fleet/FaultCodes?after=N   the records after sequence number N (N = 0
                                    when absent), page_size at most

Records are numbered 1, 2, … in feed order. A page holding records links
`next` to `?after=<its last record>`; a page with none has no `next`, and
asking for it again later returns what has been appended since.

Test knobs, safe to set while serving: `fail(k)` answers the next k requests
with 500, `delay(k, seconds)` sleeps before answering the next k (to cause
client timeouts), `malformed_after` holds cursor positions whose page is sent
cut in half, `append()` adds records; `requests` lists the paths asked for.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from spark_app.ingest.feed_xml import render_page

FEED_PATH = "/Fleet/FaultCodes"


class SimulatedFeed:
    def __init__(self, records: list[str], page_size: int = 500, host: str = "127.0.0.1",
                 port: int = 0):
        self.page_size = page_size
        self.malformed_after: set[int] = set()
        self.requests: list[str] = []
        self._records = list(records)
        self._failures_left = 0
        self._delays_left = 0
        self._delay_s = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The feed's URL, the one to give `fleetwatch ingest`."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{FEED_PATH}"

    def start(self) -> SimulatedFeed:
        self._thread = threading.Thread(target=self._server.serve_forever, name="simulated-feed",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> SimulatedFeed:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- knobs ---------------------------------------------------------------
    def append(self, records: list[str]) -> None:
        with self._lock:
            self._records.extend(records)

    def fail(self, requests: int) -> None:
        with self._lock:
            self._failures_left = requests

    def delay(self, requests: int, seconds: float) -> None:
        with self._lock:
            self._delays_left, self._delay_s = requests, seconds

    # ---- serving -------------------------------------------------------------
    def answer(self, path: str) -> tuple[int, bytes]:
        """(HTTP status, body) for one request."""
        with self._lock:
            self.requests.append(path)
            delay_s = self._delay_s if self._delays_left > 0 else 0.0
            self._delays_left = max(self._delays_left - 1, 0)
            failing = self._failures_left > 0
            self._failures_left = max(self._failures_left - 1, 0)
        if delay_s:
            time.sleep(delay_s)
        parts = urlsplit(path)
        if parts.path != FEED_PATH:
            return 404, b"not found\n"
        if failing:
            return 500, b"simulated failure\n"
        try:
            after = int(parse_qs(parts.query).get("after", ["0"])[0])
        except ValueError:
            return 400, b"after must be an integer\n"
        with self._lock:
            page = self._records[after:after + self.page_size]
        body = render_page(page, f"{FEED_PATH}?after={after}",
                           f"{FEED_PATH}?after={after + len(page)}" if page else None,
                           datetime.now(UTC).isoformat(timespec="seconds"))
        if after in self.malformed_after:
            body = body[:len(body) // 2]
        return 200, body


def _handler(feed: SimulatedFeed) -> type[BaseHTTPRequestHandler]:
    class FeedHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            status, body = feed.answer(self.path)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/xml" if status == 200
                                 else "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format, *args) -> None:  # noqa: A002 - keep test output quiet
            pass

    return FeedHandler
