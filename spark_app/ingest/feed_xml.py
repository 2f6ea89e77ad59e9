"""The paged XML fault feed, modelled on the time-series endpoints of
ISO/TS 15143-3 (AEMP 2.0 telematics): parsing a page, and rendering one
(for the simulator). One page:

    <?xml version="1.0" encoding="UTF-8"?>
    <FaultCodes xmlns="http://standards.iso.org/iso/15143/-3" version="1"
                snapshotTime="2016-11-18T20:30:05Z">
      <Links><rel>self</rel><href>http://feed.example/Fleet/FaultCodes?after=500</href></Links>
      <Links><rel>next</rel><href>http://feed.example/Fleet/FaultCodes?after=1000</href></Links>
      <FaultCode>
        <EquipmentHeader>
          <Model>JAP</Model>
          <SerialNumber>JAP00100</SerialNumber>
        </EquipmentHeader>
        <CodeIdentifier>
          <Kind>event</Kind><MID>123</MID><CID>456</CID><FMI>789</FMI>
        </CodeIdentifier>
        <OccurrenceTime datetime="2016-11-16T13:34:00Z"/>
        <ReceivedTime datetime="2016-11-18T20:30:00Z"/>
      </FaultCode>
      …
    </FaultCodes>

- Links are AEMP 2.0's `<Links><rel/><href/></Links>`; hrefs may be relative
  to the page. `next` continues after the page's last record
  (`?after=<sequence number of the last record>`); a page with no `next`
  is the end of the feed for now, and where the next poll starts again.
- `Kind` is `event` (tag #1.MID.CID.FMI) or `diagnostic` (#2.…); MID, CID
  and FMI are non-negative decimal integers.
- `OccurrenceTime` is when the fault happened; `ReceivedTime` (optional) when
  the provider received it, else the time the page was fetched. Both ISO 8601
  with a time zone.
- Element names are matched without their namespace, so a feed with or
  without the ISO namespace parses alike; unknown elements are ignored.
- Pages are untrusted: they are parsed by defusedxml with DTDs forbidden, so
  a page declaring a DOCTYPE or an entity is refused whatever its encoding
  (no entity expansion, no external entities). A page larger than
  ingest.max_page_bytes is refused unparsed, and one with elements nested
  deeper than MAX_DEPTH (the format needs 4) is refused too: serializing a
  rejected record is recursive.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_untrusted

from schemas.faults import Fault
from spark_app.ingest.records import (
    Invalid,
    RecordRules,
    fault_row,
    parse_timestamp,
    text_code,
)

FEED_NAMESPACE = "http://standards.iso.org/iso/15143/-3"
MAX_DEPTH = 32


class MalformedPage(ValueError):
    """The page as a whole cannot be read; the message says why."""


@dataclass(frozen=True)
class FeedRecord:
    """One <FaultCode>, as text; None where an element is missing."""
    serial_number: str | None
    model: str | None
    kind: str | None
    mid: str | None
    cid: str | None
    fmi: str | None
    occurred: str | None
    received: str | None
    element: ET.Element = field(compare=False, repr=False)

    def xml(self) -> str:
        return ET.tostring(self.element, encoding="unicode")


@dataclass(frozen=True)
class FeedPage:
    self_url: str | None
    next_url: str | None
    records: tuple[FeedRecord, ...]


def parse_page(body: bytes, max_bytes: int) -> FeedPage:
    if len(body) > max_bytes:
        raise MalformedPage(f"page larger than ingest.max_page_bytes ({max_bytes} bytes)")
    try:
        root = parse_untrusted(body, forbid_dtd=True)
    except DefusedXmlException as error:
        raise MalformedPage(f"DOCTYPE and ENTITY declarations are not accepted ({error})") \
            from None
    except ET.ParseError as error:
        raise MalformedPage(f"not well-formed XML: {error}") from None
    if _deeper_than(root, MAX_DEPTH):
        raise MalformedPage(f"elements nested deeper than {MAX_DEPTH} levels")
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    if root.tag != "FaultCodes":
        raise MalformedPage(f"the root element must be FaultCodes, not {root.tag}")
    links: dict[str, str] = {}
    for link in root.findall("Links"):
        rel, href = _text(link, "rel"), _text(link, "href")
        if rel and href:
            links.setdefault(rel, href)
    return FeedPage(links.get("self"), links.get("next"),
                    tuple(_record(element) for element in root.findall("FaultCode")))


def record_row(record: FeedRecord, fetched_at: datetime, rules: RecordRules) -> Fault:
    received_at = fetched_at if record.received is None else \
        parse_timestamp(record.received, "ReceivedTime")
    if record.occurred is None:
        raise Invalid("OccurrenceTime is missing")
    return fault_row(record.serial_number, record.model, record.kind,
                     text_code(record.mid, "MID"), text_code(record.cid, "CID"),
                     text_code(record.fmi, "FMI"),
                     parse_timestamp(record.occurred, "OccurrenceTime"),
                     received_at, fetched_at + rules.future_tolerance, rules)


def _deeper_than(root: ET.Element, levels: int) -> bool:
    """Without recursion, which such a tree would exhaust."""
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > levels:
            return True
        stack.extend((child, depth + 1) for child in element)
    return False


def _record(element: ET.Element) -> FeedRecord:
    header = element.find("EquipmentHeader")
    code = element.find("CodeIdentifier")
    return FeedRecord(
        serial_number=_text(header, "SerialNumber"), model=_text(header, "Model"),
        kind=_text(code, "Kind"), mid=_text(code, "MID"), cid=_text(code, "CID"),
        fmi=_text(code, "FMI"),
        occurred=_attribute(element, "OccurrenceTime", "datetime"),
        received=_attribute(element, "ReceivedTime", "datetime"),
        element=element)


def _text(parent: ET.Element | None, name: str) -> str | None:
    child = None if parent is None else parent.find(name)
    return None if child is None else (child.text or "").strip()


def _attribute(parent: ET.Element, name: str, attribute: str) -> str | None:
    child = parent.find(name)
    return None if child is None else child.get(attribute)


# ---- rendering (the simulator's feed) -------------------------------------------

def render_record(serial_number: str, model: str, kind: str, mid, cid, fmi, occurred: str,
                  received: str | None) -> str:
    """One <FaultCode>; values are written as given, so a simulator can send bad ones."""
    received_element = "" if received is None else \
        f"<ReceivedTime datetime={quoteattr(received)}/>"
    return (f"<FaultCode><EquipmentHeader><Model>{escape(model)}</Model>"
            f"<SerialNumber>{escape(serial_number)}</SerialNumber></EquipmentHeader>"
            f"<CodeIdentifier><Kind>{escape(kind)}</Kind><MID>{escape(str(mid))}</MID>"
            f"<CID>{escape(str(cid))}</CID><FMI>{escape(str(fmi))}</FMI></CodeIdentifier>"
            f"<OccurrenceTime datetime={quoteattr(occurred)}/>{received_element}</FaultCode>")


def render_page(records: list[str], self_url: str, next_url: str | None,
                snapshot_time: str) -> bytes:
    links = [("self", self_url)] + ([("next", next_url)] if next_url else [])
    return "".join([
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<FaultCodes xmlns="{FEED_NAMESPACE}" version="1" snapshotTime="{snapshot_time}">\n',
        *(f"<Links><rel>{rel}</rel><href>{escape(href)}</href></Links>\n" for rel, href in links),
        *(record + "\n" for record in records),
        "</FaultCodes>\n"]).encode("utf-8")
