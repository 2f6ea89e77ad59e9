"""Listings printed one way by every command: `--format table|csv|json`.

A command builds its records as dicts carrying every column (JSON prints them all)
and names the columns the table and CSV show. Instants print as ISO 8601 UTC with
milliseconds, days as YYYY-MM-DD, missing values as an empty CSV cell, "-" in a
table and null in JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TextIO

from rules.timefmt import format_iso_ms

FORMATS = ("table", "csv", "json")


def add_format_option(parser, default: str = "table") -> None:
    parser.add_argument("--format", choices=FORMATS, default=default,
                        help=f"how to print the result (default {default})")


@dataclass(frozen=True)
class Column:
    key: str
    header: str | None = None
    align_right: bool = False

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.key


def text_of(value: object) -> str | None:
    """The printed form of one value; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return format_iso_ms(epoch_ms(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    return text_of(value)


def epoch_ms(value: datetime) -> int:
    """Naive datetimes (as the relational store returns them) are UTC."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return (value - datetime(1970, 1, 1)) // timedelta(milliseconds=1)


def write_listing(records: Sequence[Mapping[str, object]], columns: Sequence[Column],
                  output_format: str, out: TextIO, *, noun: str = "row",
                  plural: str | None = None) -> None:
    if output_format == "json":
        json.dump([{key: json_value(value) for key, value in record.items()}
                   for record in records], out, indent=1, ensure_ascii=False)
        out.write("\n")
    elif output_format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([column.title for column in columns])
        for record in records:
            writer.writerow(["" if (text := text_of(record.get(column.key))) is None else text
                             for column in columns])
    elif output_format == "table":
        _write_table(records, columns, out)
        count = len(records)
        word = noun if count == 1 else (plural or noun + "s")
        out.write(f"({count} {word})\n")
    else:
        raise ValueError(f"unknown output format {output_format!r}; one of {', '.join(FORMATS)}")


def _write_table(records: Sequence[Mapping[str, object]], columns: Sequence[Column],
                 out: TextIO) -> None:
    cells = [[_table_cell(record.get(column.key)) for column in columns] for record in records]
    widths = [max([len(column.title)] + [len(row[index]) for row in cells])
              for index, column in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        parts = [value.rjust(width) if column.align_right else value.ljust(width)
                 for value, width, column in zip(values, widths, columns, strict=True)]
        return "  ".join(parts).rstrip() + "\n"

    out.write(line([column.title for column in columns]))
    for row in cells:
        out.write(line(row))


def _table_cell(value: object) -> str:
    text = text_of(value)
    if text is None:
        return "-"
    return text.replace("\n", " ")
