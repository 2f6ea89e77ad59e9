"""The equipment registry: serial number, model, site, team. Imported from CSV
all or nothing (every bad line reported with its number); importing a serial
again updates it, so the same file imported twice changes nothing."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from schemas.relational import Equipment
from spark_app.common.csv_import import CsvImportError, ImportProblem

REQUIRED = ("serial_number", "model", "site", "team")
OPTIONAL = ("commissioned_on",)
_LIMITS = {"serial_number": 64, "model": 64, "site": 128, "team": 128}


class EquipmentImportError(CsvImportError):
    """Nothing imported; `problems` lists every bad line."""


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int


def read_equipment_csv(path: str | Path) -> list[dict]:
    """The rows of the file, checked; EquipmentImportError lists every bad line."""
    rows, problems, seen = [], [], {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip().lower() for name in next(reader, [])]
        if header[:4] != list(REQUIRED) or header[4:] not in ([], list(OPTIONAL)):
            raise EquipmentImportError([ImportProblem(
                1, f"the header must be {','.join(REQUIRED)}[,{OPTIONAL[0]}], "
                   f"got {','.join(header) or 'nothing'}")])
        for record in reader:
            line = reader.line_num
            if not record or all(not field.strip() for field in record):
                continue
            if len(record) != len(header):
                problems.append(ImportProblem(
                    line, f"expected {len(header)} fields, got {len(record)}"))
                continue
            values = dict(zip(header, (field.strip() for field in record), strict=True))
            problem = _problem(values)
            if problem is None and values["serial_number"] in seen:
                problem = (f"serial {values['serial_number']} again "
                           f"(first on line {seen[values['serial_number']]})")
            if problem:
                problems.append(ImportProblem(line, problem))
                continue
            seen[values["serial_number"]] = line
            commissioned = values.get("commissioned_on") or None
            rows.append({**{key: values[key] for key in REQUIRED},
                         "commissioned_on": date.fromisoformat(commissioned)
                         if commissioned else None})
    if problems:
        raise EquipmentImportError(problems)
    return rows


def _problem(values: dict[str, str]) -> str | None:
    for key, limit in _LIMITS.items():
        if not values[key] or len(values[key]) > limit:
            return f"{key} must be 1 to {limit} characters, got {values[key]!r}"
    commissioned = values.get("commissioned_on")
    if commissioned:
        try:
            date.fromisoformat(commissioned)
        except ValueError:
            return f"commissioned_on must be a day YYYY-MM-DD, got {commissioned!r}"
    return None


class EquipmentRegistry:
    def __init__(self, engine: Engine):
        self.engine = engine

    def import_csv(self, path: str | Path) -> ImportResult:
        rows = read_equipment_csv(path)
        table = Equipment.__table__
        with self.engine.begin() as connection:
            known = set()
            serials = [row["serial_number"] for row in rows]
            for start in range(0, len(serials), 500):  # bounded IN lists
                known.update(connection.execute(
                    select(table.c.serial_number)
                    .where(table.c.serial_number.in_(serials[start:start + 500]))).scalars())
            new = [row for row in rows if row["serial_number"] not in known]
            old = [row for row in rows if row["serial_number"] in known]
            if new:
                connection.execute(table.insert(), [{**row, "active": True} for row in new])
            for row in old:
                connection.execute(table.update()
                                   .where(table.c.serial_number == row["serial_number"])
                                   .values(**row, active=True))
        return ImportResult(added=len(new), updated=len(old))

    def list(self) -> list[dict]:
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(
                select(Equipment.serial_number, Equipment.model, Equipment.site, Equipment.team,
                       Equipment.commissioned_on, Equipment.active)
                .order_by(Equipment.serial_number)).mappings()]
