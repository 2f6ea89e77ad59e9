import io
import json
from datetime import date, datetime

import pytest

from spark_app.common.output import Column, write_listing

RECORDS = [
    {"id": 7, "serial_number": "S-1", "ts": datetime(2016, 11, 18, 3, 4, 5, 6000),
     "day": date(2016, 11, 18), "note": None, "active": True},
    {"id": 12, "serial_number": "S,2", "ts": datetime(2016, 11, 19), "day": None,
     "note": "line\nbreak", "active": False},
]
COLUMNS = [Column("id", align_right=True), Column("serial_number", "serial"), Column("ts"),
           Column("note")]


def render(output_format: str, records=RECORDS) -> str:
    out = io.StringIO()
    write_listing(records, COLUMNS, output_format, out, noun="thing")
    return out.getvalue()


def test_table_aligns_columns_and_counts_rows():
    assert render("table") == (
        "id  serial  ts                        note\n"
        " 7  S-1     2016-11-18T03:04:05.006Z  -\n"
        "12  S,2     2016-11-19T00:00:00.000Z  line break\n"
        "(2 things)\n")


def test_csv_quotes_and_leaves_missing_values_empty():
    assert render("csv") == (
        "id,serial,ts,note\n"
        "7,S-1,2016-11-18T03:04:05.006Z,\n"
        '12,"S,2",2016-11-19T00:00:00.000Z,"line\nbreak"\n')


def test_json_carries_every_column_not_only_the_shown_ones():
    assert render("json") == (
        '[\n {\n  "id": 7,\n  "serial_number": "S-1",\n  "ts": "2016-11-18T03:04:05.006Z",\n'
        '  "day": "2016-11-18",\n  "note": null,\n  "active": true\n },\n'
        ' {\n  "id": 12,\n  "serial_number": "S,2",\n  "ts": "2016-11-19T00:00:00.000Z",\n'
        '  "day": null,\n  "note": "line\\nbreak",\n  "active": false\n }\n]\n')


def test_json_keeps_lists_and_objects_printing_their_values_the_same_way():
    nested = [{"id": 1, "stages": [{"name": "evaluate", "seconds": 1.5,
                                    "at": datetime(2016, 11, 18, 0, 30)}], "tags": ("#A", None)}]
    assert json.loads(render("json", nested)) == [
        {"id": 1, "stages": [{"name": "evaluate", "seconds": 1.5,
                              "at": "2016-11-18T00:30:00.000Z"}], "tags": ["#A", None]}]


def test_an_empty_table_still_says_how_many():
    assert render("table", []) == "id  serial  ts  note\n(0 things)\n"


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="table, csv, json"):
        render("xml")
