"""The XML feed format: parsing pages and records, refusing bad ones (no I/O)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from spark_app.ingest.feed_pull import _next_url
from spark_app.ingest.feed_xml import (
    MalformedPage,
    parse_page,
    record_row,
    render_page,
    render_record,
)
from spark_app.ingest.records import Invalid, RecordRules

RULES = RecordRules(shards=16, max_record_bytes=8192, future_tolerance=timedelta(days=1))
FETCHED = datetime(2016, 11, 20, 8, 0, tzinfo=UTC)
MAX = 1 << 20

PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<FaultCodes xmlns="http://standards.iso.org/iso/15143/-3" version="1"
            snapshotTime="2016-11-18T20:30:05Z">
  <Links><rel>self</rel><href>http://feed.example/Fleet/FaultCodes?after=500</href></Links>
  <Links><rel>next</rel><href>/Fleet/FaultCodes?after=502</href></Links>
  <FaultCode>
    <EquipmentHeader><Model>JAP</Model><SerialNumber>JAP00100</SerialNumber></EquipmentHeader>
    <CodeIdentifier><Kind>event</Kind><MID>123</MID><CID>456</CID><FMI>789</FMI></CodeIdentifier>
    <OccurrenceTime datetime="2016-11-16T13:34:00Z"/>
    <ReceivedTime datetime="2016-11-18T20:30:00Z"/>
  </FaultCode>
  <FaultCode>
    <EquipmentHeader><Model>KOM</Model><SerialNumber>KOM00001</SerialNumber></EquipmentHeader>
    <CodeIdentifier><Kind>diagnostic</Kind><MID>1</MID><CID>2</CID><FMI>3</FMI></CodeIdentifier>
    <OccurrenceTime datetime="2016-11-19T23:00:00-03:00"/>
    <Unknown>ignored</Unknown>
  </FaultCode>
</FaultCodes>"""


def test_a_page_gives_its_links_and_records():
    page = parse_page(PAGE, MAX)
    assert page.self_url == "http://feed.example/Fleet/FaultCodes?after=500"
    assert page.next_url == "/Fleet/FaultCodes?after=502"
    first, second = page.records
    assert (first.serial_number, first.model, first.kind, first.mid, first.cid, first.fmi) == \
        ("JAP00100", "JAP", "event", "123", "456", "789")
    row = record_row(first, FETCHED, RULES)
    assert row[0] == date(2016, 11, 18) and row[2:5] == ("JAP", "#1.123.456.789", "JAP00100")
    # no ReceivedTime: received when the page was fetched
    row = record_row(second, FETCHED, RULES)
    assert row[3] == "#2.1.2.3" and row[0] == FETCHED.date() and row[6] == FETCHED
    assert row[5] == datetime(2016, 11, 20, 2, 0, tzinfo=UTC)


def test_the_namespace_is_optional():
    plain = PAGE.replace(b' xmlns="http://standards.iso.org/iso/15143/-3"', b"")
    assert parse_page(plain, MAX) == parse_page(PAGE, MAX)


def test_rendered_pages_parse_back():
    record = render_record("S<1>", "M&M", "event", 1, 2, 3, "2016-11-16T13:34:00Z", None)
    page = parse_page(render_page([record], "/f?after=0", "/f?after=1", "2016-11-18T00:00:00Z"),
                      MAX)
    assert page.next_url == "/f?after=1"
    assert (page.records[0].serial_number, page.records[0].model) == ("S<1>", "M&M")
    assert parse_page(render_page([], "/f?after=1", None, "x"), MAX).next_url is None


@pytest.mark.parametrize("body, reason", [
    (b"", "not well-formed XML"),
    (PAGE[: len(PAGE) // 2], "not well-formed XML"),
    (b"<html><body>502 Bad Gateway</body></html>", "root element must be FaultCodes, not html"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><FaultCodes/>',
     "DOCTYPE and ENTITY declarations are not accepted"),
    (b"<FaultCodes>" + b" " * MAX + b"</FaultCodes>", "larger than ingest.max_page_bytes"),
])
def test_a_page_that_cannot_be_read_is_refused_whole(body, reason):
    with pytest.raises(MalformedPage, match=reason):
        parse_page(body, MAX)


def _record(**changes) -> bytes:
    fields = {"serial_number": "S1", "model": "M", "kind": "event", "mid": 1, "cid": 2, "fmi": 3,
              "occurred": "2016-11-16T13:34:00Z", "received": None, **changes}
    return render_page([render_record(**fields)], "/f", None, "x")


@pytest.mark.parametrize("body, reason", [
    (_record().replace(b"<MID>1</MID>", b""), "MID is missing"),
    (_record(fmi="3x"), "FMI must be a non-negative integer, got '3x'"),
    (_record(cid="-2"), "CID must be a non-negative integer"),
    (_record(occurred="yesterday"), "OccurrenceTime is not an ISO 8601 timestamp"),
    (_record().replace(b'<OccurrenceTime datetime="2016-11-16T13:34:00Z"/>', b""),
     "OccurrenceTime is missing"),
    (_record(occurred="2016-11-16T13:34:00"), "OccurrenceTime has no time zone"),
    (_record(occurred="2016-11-22T00:00:00Z"), "later than received_at"),
    (_record(received="2016-11-25T00:00:00Z"), "is in the future"),
    (_record(serial_number=""), "serial_number is missing or empty"),
    (_record().replace(b"<EquipmentHeader>", b"<Header>").replace(b"</EquipmentHeader>",
                                                                  b"</Header>"),
     "serial_number is missing or empty"),
    (_record(kind="warning"), "kind must be 'event' or 'diagnostic', got 'warning'"),
])
def test_a_bad_record_is_refused_with_its_reason(body, reason):
    (record,) = parse_page(body, MAX).records
    with pytest.raises(Invalid) as refused:
        record_row(record, FETCHED, RULES)
    assert reason in str(refused.value)
    assert record.xml().startswith("<FaultCode>")


@pytest.mark.parametrize("href, expected", [
    (None, None),
    ("", None),
    ("/Fleet/FaultCodes?after=10", "http://h:1/Fleet/FaultCodes?after=10"),
    ("http://h:1/Fleet/FaultCodes?after=10", "http://h:1/Fleet/FaultCodes?after=10"),
    ("?after=0", None),  # the page itself: the end, not a loop
])
def test_next_links_resolve_against_the_page(href, expected):
    assert _next_url(href, "http://h:1/Fleet/FaultCodes?after=0",
                     "http://h:1/Fleet/FaultCodes") == expected


def test_a_next_link_to_another_host_is_refused():
    with pytest.raises(MalformedPage, match="leaves the feed's host"):
        _next_url("http://elsewhere/x", "http://h:1/f", "http://h:1/f")


ENTITY_PAGE = """<?xml version="1.0" encoding="UTF-16"?>
<!DOCTYPE FaultCodes [<!ENTITY big "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX">]>
<FaultCodes><FaultCode>
  <EquipmentHeader><Model>JAP</Model><SerialNumber>&big;&big;&big;</SerialNumber></EquipmentHeader>
  <CodeIdentifier><Kind>event</Kind><MID>1</MID><CID>2</CID><FMI>3</FMI></CodeIdentifier>
  <OccurrenceTime datetime="2016-11-16T13:34:00Z"/>
</FaultCode></FaultCodes>"""


@pytest.mark.parametrize("declared, codec", [
    ("UTF-16", "utf-16"),  # with a byte-order mark
    ("UTF-16LE", "utf-16-le"),  # without one: the declaration names the encoding
    ("UTF-16BE", "utf-16-be"),
])
def test_a_page_declaring_entities_is_refused_in_utf16_too(declared, codec):
    body = ENTITY_PAGE.replace('"UTF-16"', f'"{declared}"').encode(codec)
    with pytest.raises(MalformedPage, match="DOCTYPE and ENTITY declarations are not accepted"):
        parse_page(body, MAX)


def test_a_utf16_page_without_a_dtd_is_read():
    body = PAGE.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    page = parse_page(body, MAX)
    assert [record.serial_number for record in page.records] == ["JAP00100", "KOM00001"]


@pytest.mark.parametrize("body, reason", [
    (_record(mid="7" * 5000), "MID must be at most 2147483647, got '7777"),
    (_record(fmi="2147483648"), "FMI must be at most 2147483647, got 2147483648"),
    (_record(serial_number="S" * 70_000),
     "serial_number is longer than 256 bytes of UTF-8 (70,000 bytes)"),
    (_record(occurred="0001-01-01T00:00:00+01:00"),
     "OccurrenceTime '0001-01-01T00:00:00+01:00' is outside the days the pipeline can represent"),
    (_record(received="9999-12-31T23:59:59-01:00"),
     "ReceivedTime '9999-12-31T23:59:59-01:00' is outside the days the pipeline can represent"),
])
def test_a_record_cassandra_cannot_hold_is_refused_with_its_reason(body, reason):
    (record,) = parse_page(body, MAX).records
    with pytest.raises(Invalid) as refused:
        record_row(record, FETCHED, RULES)
    assert reason in str(refused.value)


def test_a_page_nested_too_deeply_is_refused_whole():
    deep = "<x>" * 10_000 + "</x>" * 10_000
    body = render_page([f"<FaultCode><EquipmentHeader>{deep}</EquipmentHeader></FaultCode>"],
                       "/f", None, "x")
    with pytest.raises(MalformedPage, match="elements nested deeper than 32 levels"):
        parse_page(body, MAX)


def test_a_page_nested_32_levels_is_read():
    nested = "<x>" * 28 + "</x>" * 28  # FaultCodes > FaultCode > EquipmentHeader > Model > x…
    body = render_page([render_record("S1", "M", "event", 1, 2, 3, "2016-11-16T13:34:00Z", None)
                        .replace("</Model>", nested + "</Model>")], "/f", None, "x")
    (record,) = parse_page(body, MAX).records
    assert record.xml().count("<x") == 28  # the innermost written as <x />


def test_a_next_link_too_long_to_key_its_page_is_refused():
    page = "http://h:1/f?after=0"
    with pytest.raises(MalformedPage, match=r"next link is longer than 8192 characters \(70,019\)"):
        _next_url("/f?after=" + "9" * 70_000, page, "http://h:1/f")
    longest = "/f?after=" + "9" * (8192 - len("http://h:1/f?after="))
    assert _next_url(longest, page, "http://h:1/f") == "http://h:1" + longest
