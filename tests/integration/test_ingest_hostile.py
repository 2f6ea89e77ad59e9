"""Hostile input into the real Cassandra over real HTTP on loopback: every
record that cannot be stored is a reject with its reason, the good records of
the same file or page are stored, and the sources after it are still ingested."""

import json
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from spark_app.ingest.feed_xml import render_page, render_record
from spark_app.ingest.run import ingest
from spark_app.sim.feed import SimulatedFeed
from tests.support.ingest import (
    clear_days,
    cursor_of,
    fault_keys,
    ingest_config,
    rejects_of,
)

DAY = date(2006, 7, 10)     # the received day of the hostile sources' good records
LATER = date(2006, 7, 11)   # the received day of the source ingested after them
RECEIVED = "2006-07-10T20:30:00+00:00"
TS = "2006-07-10T19:30:00+00:00"
TS_MS = 1152559800000       # TS in milliseconds since 1970
LATER_TS_MS = TS_MS + 86_400_000


@pytest.fixture(scope="module")
def quick(cassandra):
    return ingest_config()


@pytest.fixture
def clean_days(cassandra, quick):
    clear_days(cassandra, quick, [DAY, LATER])


def json_line(serial: str, **changes) -> str:
    fields = {"serial_number": serial, "model": "JAP", "kind": "event", "mid": 123, "cid": 456,
              "fmi": 7, "ts": TS, "received_at": RECEIVED, **changes}
    return json.dumps(fields)


def later_file(tmp_path):
    """A good source ingested after the hostile one: 2 faults received on LATER."""
    path = tmp_path / "later.jsonl"
    path.write_text("".join(json_line(serial, ts="2006-07-11T19:30:00Z",
                                      received_at="2006-07-11T20:30:00Z") + "\n"
                            for serial in ("LATER1", "LATER2")))
    return path


LATER_KEYS = {(LATER, "LATER1", "#1.123.456.7", LATER_TS_MS),
              (LATER, "LATER2", "#1.123.456.7", LATER_TS_MS)}


def test_hostile_json_lines_are_rejected_and_the_rest_is_stored(cassandra, quick, clean_days,
                                                                 tmp_path):
    lines = [
        json_line("GOOD1"),
        json_line("C1\ud800"),                                               # 2
        json_line("GOOD2", model="J\udfff"),                                 # 3
        json_line("GOOD3", ts="0001-01-01T00:00:00+01:00"),                  # 4
        json_line("GOOD4", received_at="9999-12-31T23:59:59-01:00"),         # 5
        json_line("GOOD5", ts="1601-01-01T00:00:00Z"),                       # 6
        json_line("GOOD6", mid=2**40),                                       # 7
        json_line("S" * 300),                                                # 8
        "[" * 8000,                                                          # 9
        json_line("GOOD7"),
    ]
    path = tmp_path / "hostile.jsonl"
    path.write_text("\n".join(lines) + "\n")

    summary = ingest(quick, [str(path), str(later_file(tmp_path))])
    assert summary.exit_code == 0, summary.text()
    assert [(r.faults, r.rejected, r.error) for r in summary.results] == \
        [(2, 8, None), (2, 0, None)]
    assert fault_keys(cassandra, quick, [DAY]) == {(DAY, "GOOD1", "#1.123.456.7", TS_MS),
                                                  (DAY, "GOOD7", "#1.123.456.7", TS_MS)}
    assert fault_keys(cassandra, quick, [LATER]) == LATER_KEYS
    rejects = rejects_of(cassandra, str(path))
    assert sorted(rejects) == [2, 3, 4, 5, 6, 7, 8, 9]
    reasons = {position: reason for position, (reason, _) in rejects.items()}
    assert reasons[2] == r"serial_number is not valid Unicode (a lone surrogate): 'C1\ud800'"
    assert reasons[3] == r"model is not valid Unicode (a lone surrogate): 'J\udfff'"
    assert reasons[4] == ("ts '0001-01-01T00:00:00+01:00' is outside the days the pipeline "
                          "can represent (1677-09-22 .. 2262-04-10, UTC)")
    assert reasons[5] == ("received_at '9999-12-31T23:59:59-01:00' is outside the days the "
                          "pipeline can represent (1677-09-22 .. 2262-04-10, UTC)")
    assert reasons[6].startswith("ts '1601-01-01T00:00:00Z' is outside the days")
    assert reasons[7] == "mid must be at most 2147483647, got 1099511627776"
    assert reasons[8].startswith("serial_number is longer than 256 bytes of UTF-8 (300 bytes)")
    assert reasons[9] == "not valid JSON: nested too deeply"
    assert rejects[2][1] == lines[1], "the raw line is kept"


def test_hostile_feed_records_are_rejected_and_the_rest_of_the_page_is_stored(
        cassandra, quick, clean_days, tmp_path):
    def record(serial: str, **changes) -> str:
        fields = {"serial_number": serial, "model": "JAP", "kind": "event", "mid": 123,
                  "cid": 456, "fmi": 7, "occurred": TS, "received": RECEIVED, **changes}
        return render_record(**fields)

    records = [
        record("GOOD1"),
        record("GOOD2", mid="9" * 4301),                                   # 2
        record("X" * 70_000),                                              # 3
        record("GOOD3", occurred="0001-01-01T00:00:00+01:00"),             # 4
        record("GOOD4", received="9999-12-31T23:59:59-01:00"),             # 5
        record("GOOD5", cid="2147483648"),                                 # 6
        record("GOOD6"),
    ]
    with SimulatedFeed(records, page_size=100) as feed:
        summary = ingest(quick, [feed.url, str(later_file(tmp_path))])
        assert summary.exit_code == 0, summary.text()
        assert [(r.faults, r.rejected, r.error) for r in summary.results] == \
            [(2, 5, None), (2, 0, None)]
        assert cursor_of(cassandra, feed.url) == f"{feed.url}?after=7"
        assert fault_keys(cassandra, quick, [DAY]) == {(DAY, "GOOD1", "#1.123.456.7", TS_MS),
                                                      (DAY, "GOOD6", "#1.123.456.7", TS_MS)}
        assert fault_keys(cassandra, quick, [LATER]) == LATER_KEYS
        rejects = rejects_of(cassandra, feed.url)  # the first page is the feed URL itself
    reasons = {position: reason for position, (reason, _) in rejects.items()}
    assert sorted(reasons) == [2, 3, 4, 5, 6]
    assert reasons[2].startswith("MID must be at most 2147483647, got '9999")
    assert reasons[3].startswith("serial_number is longer than 256 bytes of UTF-8 "
                                 "(70,000 bytes)")
    assert reasons[4] == ("OccurrenceTime '0001-01-01T00:00:00+01:00' is outside the days the "
                          "pipeline can represent (1677-09-22 .. 2262-04-10, UTC)")
    assert reasons[5] == ("ReceivedTime '9999-12-31T23:59:59-01:00' is outside the days the "
                          "pipeline can represent (1677-09-22 .. 2262-04-10, UTC)")
    assert reasons[6] == "CID must be at most 2147483647, got 2147483648"
    assert rejects[3][1].startswith("<FaultCode><EquipmentHeader>")
    assert rejects[3][1].endswith("more bytes]"), "kept, cut to ingest.max_reject_payload_bytes"


class Responder:
    """An HTTP server on loopback answering each path with a handler
    (request handler -> None) that writes whatever answer a test needs."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[str] = []
        self.stop = threading.Event()
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                responder.requests.append(self.path)
                try:
                    responder.routes[self.path](self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client hung up

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def answer(status: int, body: bytes = b"", **headers):
    def handle(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            request.send_header(name.replace("_", "-"), value)
        request.end_headers()
        request.wfile.write(body)
    return handle


UTF16_ENTITY_PAGE = """<?xml version="1.0" encoding="UTF-16"?>
<!DOCTYPE FaultCodes [<!ENTITY e "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE">
 <!ENTITY ee "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>
<FaultCodes><FaultCode>
 <EquipmentHeader><Model>JAP</Model><SerialNumber>&ee;&ee;</SerialNumber></EquipmentHeader>
 <CodeIdentifier><Kind>event</Kind><MID>1</MID><CID>2</CID><FMI>3</FMI></CodeIdentifier>
 <OccurrenceTime datetime="2006-07-10T19:30:00Z"/><ReceivedTime datetime="2006-07-10T20:30:00Z"/>
</FaultCode></FaultCodes>""".encode("utf-16")


DEEP_PAGE = render_page(
    [render_record("DEEP", "JAP", "event", 1, 2, 3, TS, RECEIVED)
     .replace("</Model>", "<x>" * 5000 + "</x>" * 5000 + "</Model>")], "/feed", None, RECEIVED)


@pytest.mark.parametrize("page, reason", [
    (UTF16_ENTITY_PAGE, "DOCTYPE and ENTITY declarations are not accepted "
                        "(DTDForbidden(name='FaultCodes', system_id=None, public_id=None))"),
    (DEEP_PAGE, "elements nested deeper than 32 levels"),
], ids=["utf16-entities", "deep"])
def test_a_hostile_page_is_refused_whole_and_nothing_of_it_stored(
        cassandra, quick, clean_days, tmp_path, page, reason):
    with Responder({"/feed": answer(200, page)}) as server:
        feed = server.url("/feed")
        summary = ingest(quick, [feed, str(later_file(tmp_path))])
    assert summary.exit_code == 1
    assert [(r.faults, r.rejected) for r in summary.results] == [(0, 1), (2, 0)]
    assert summary.results[0].error == f"{feed}: {reason}; the cursor stays on this page"
    assert summary.results[1].error is None
    ((position, (stored_reason, payload)),) = rejects_of(cassandra, feed).items()
    assert position == 0
    assert stored_reason == f"page refused: {reason}"
    assert len(payload) < 2 * len(page), "the page as sent, not expanded"
    assert fault_keys(cassandra, quick, [DAY]) == set()
    assert fault_keys(cassandra, quick, [LATER]) == LATER_KEYS
    assert cursor_of(cassandra, feed) is None


def test_a_redirect_to_another_host_is_refused_and_one_on_the_same_host_followed(
        cassandra, quick, clean_days, tmp_path):
    page = render_page([render_record("SAMEHOST", "JAP", "event", 123, 456, 7, TS, RECEIVED)],
                       "/feed", None, RECEIVED)
    with SimulatedFeed([render_record("ELSEWHERE", "JAP", "event", 1, 2, 3, TS, RECEIVED)]) \
            as elsewhere, Responder({}) as server:
        server.routes.update({
            "/off": answer(302, Location=elsewhere.url),
            "/moved": answer(301, Location=server.url("/feed")),
            "/feed": answer(200, page)})
        off, moved = server.url("/off"), server.url("/moved")
        summary = ingest(quick, [off, moved, str(later_file(tmp_path))])
        assert elsewhere.requests == [], "the other host is never asked"
    assert [(r.faults, r.rejected) for r in summary.results] == [(0, 1), (1, 0), (2, 0)]
    assert summary.results[0].error == (
        f"{off}: HTTP 302 redirects off the feed's host to {elsewhere.url}; "
        "the cursor stays on this page")
    assert rejects_of(cassandra, off) == {0: (
        f"page refused: HTTP 302 redirects off the feed's host to {elsewhere.url}", "")}
    assert cursor_of(cassandra, off) is None
    assert summary.results[1].error is None
    assert fault_keys(cassandra, quick, [DAY]) == {(DAY, "SAMEHOST", "#1.123.456.7", TS_MS)}
    assert fault_keys(cassandra, quick, [LATER]) == LATER_KEYS


def trickle(part: str, stop: threading.Event):
    """A valid page sent a byte every 0.2 s, in its headers or in its body."""
    body = render_page([], "/slow", None, RECEIVED)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\n" \
           f"X-Padding: {'p' * 200}\r\nContent-Length: {len(body)}\r\n\r\n".encode()

    def handle(request: BaseHTTPRequestHandler) -> None:
        fast, slow = (b"", head + body) if part == "headers" else (head, body)
        request.wfile.write(fast)
        for index in range(len(slow)):
            if stop.wait(0.2):
                return
            request.wfile.write(slow[index:index + 1])
            request.wfile.flush()
    return handle


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_feed_trickling_a_byte_at_a_time_is_cut_at_the_page_deadline(
        cassandra, clean_days, tmp_path, part):
    config = ingest_config(FLEETWATCH_INGEST_FEED_TIMEOUT_S="5",
                           FLEETWATCH_INGEST_FEED_PAGE_DEADLINE_S="1")
    with Responder({}) as server:
        server.routes["/slow"] = trickle(part, server.stop)
        feed = server.url("/slow")
        began = time.monotonic()
        summary = ingest(config, [feed, str(later_file(tmp_path))])
        took = time.monotonic() - began
    assert summary.results[0].error == (
        f"{feed}: the page did not arrive within ingest.feed_page_deadline_s (1 s), "
        "still after 3 attempts (ingest.retry_attempts); the cursor stays on this page")
    assert len(server.requests) == 3, "each attempt has its own deadline"
    assert took < 10, f"three attempts of 1 s and the later file took {took:.1f}s"
    assert cursor_of(cassandra, feed) is None
    assert (summary.results[1].faults, summary.results[1].error) == (2, None)
    assert fault_keys(cassandra, config, [LATER]) == LATER_KEYS

