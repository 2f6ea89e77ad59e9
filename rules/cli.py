"""What the `fleetwatch` console script runs for rules; argparse lives with the caller."""
from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import TextIO

import pandas as pd

from .ast import Tag
from .errors import RuleSyntaxError
from .parser import parse_rule
from .timefmt import format_iso_ms, parse_iso_ms
from .vectorised import evaluate_frame

FAULTS_HEADER = ["serial_number", "tag", "timestamp"]
VIOLATIONS_HEADER = ["serial_number", "timestamp"]
EXIT_OK, EXIT_INVALID = 0, 2


class FaultFileError(ValueError):
    """A faults CSV that cannot be used; the message starts with `line N:`."""


def check(expr: str, stderr: TextIO) -> int:
    """0 if `expr` is a valid rule, else the syntax error on `stderr` and 2."""
    try:
        parse_rule(expr)
    except RuleSyntaxError as error:
        stderr.write(f"invalid rule: {error}\n")
        return EXIT_INVALID
    return EXIT_OK


def eval_csv(expr: str, faults_path: str, stdout: TextIO, stderr: TextIO) -> int:
    """Evaluate `expr` over the faults CSV at `faults_path` (header serial_number,tag,timestamp)
    and write its violations as CSV (header serial_number,timestamp), sorted by serial
    then time. Exit status 2, with the reason on `stderr`, for an invalid rule or file."""
    try:
        rule = parse_rule(expr)
    except RuleSyntaxError as error:
        stderr.write(f"invalid rule: {error}\n")
        return EXIT_INVALID
    try:
        faults = read_faults_csv(faults_path)
    except FaultFileError as error:
        stderr.write(f"{faults_path}: {error}\n")
        return EXIT_INVALID
    except OSError as error:
        stderr.write(f"cannot read {faults_path}: {error.strerror or error}\n")
        return EXIT_INVALID
    violations = evaluate_frame(faults.assign(rule_id=0), {0: rule})
    writer = csv.writer(stdout, lineterminator="\n")
    writer.writerow(VIOLATIONS_HEADER)
    writer.writerows(zip(violations["serial_number"], map(format_iso_ms, violations["ts"]),
                         strict=True))
    return EXIT_OK


def read_faults_csv(path: str) -> pd.DataFrame:
    """Columns serial_number, tag, ts (epoch ms). Blank lines are skipped; any other
    malformed line raises FaultFileError naming it."""
    data = Path(path).read_bytes()
    try:
        # utf-8-sig: tolerate the byte-order mark spreadsheet programs write.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise FaultFileError(f"line {line}: not UTF-8 text ({error.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    serials, tags, instants = [], [], []
    try:
        header = next(reader, None)
        if header != FAULTS_HEADER:
            raise FaultFileError(f"line 1: expected the header {','.join(FAULTS_HEADER)}, "
                                 f"found {','.join(header) if header else 'nothing'}")
        for row in reader:
            if row:
                serial, tag, instant = _fault(row, reader.line_num)
                serials.append(serial)
                tags.append(tag)
                instants.append(instant)
    except csv.Error as error:
        raise FaultFileError(f"line {reader.line_num}: {error}") from None
    return pd.DataFrame({"serial_number": pd.Series(serials, dtype=object),
                         "tag": pd.Series(tags, dtype=object),
                         "ts": pd.Series(instants, dtype="int64")})


def _fault(row: list[str], line: int) -> tuple[str, str, int]:
    if len(row) != len(FAULTS_HEADER):
        raise FaultFileError(f"line {line}: expected {len(FAULTS_HEADER)} fields "
                             f"({','.join(FAULTS_HEADER)}), found {len(row)}")
    serial, tag, timestamp = row
    if not serial:
        raise FaultFileError(f"line {line}: empty serial_number")
    if not _is_tag(tag):
        raise FaultFileError(f"line {line}: not a tag (# then dot-separated letters, digits, _): "
                             f"{tag!r}")
    try:
        return serial, tag, parse_iso_ms(timestamp)
    except ValueError as error:
        raise FaultFileError(f"line {line}: {error}") from None


@functools.lru_cache(maxsize=4096)
def _is_tag(text: str) -> bool:
    """Whether `text` is exactly one tag, by the rule grammar itself (cached: files repeat tags)."""
    try:
        return parse_rule(text).expr == Tag(text)
    except RuleSyntaxError:
        return False
