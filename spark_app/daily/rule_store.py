"""Rules in the relational database: validated when saved, never stored broken."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from rules.errors import RuleSyntaxError
from rules.parser import parse_rule
from schemas.relational import SEVERITIES, Rule

# The columns of `rules import`, in the order a file without a header gives them.
IMPORT_COLUMNS = ("model", "expression", "description", "severity", "action")


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class RuleImportError(ValueError):
    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


class RuleStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, model: str, expression: str, description: str | None = None,
            severity: str = "warning", action: str | None = None) -> int:
        """Store a rule after parsing it; a RuleSyntaxError stores nothing."""
        _check_model(model)
        _check_severity(severity)
        parse_rule(expression)
        with Session(self.engine) as session, session.begin():
            rule = Rule(model=model, expression=expression, description=description,
                        severity=severity, action=action, active=True)
            session.add(rule)
            session.flush()
            return rule.id

    def list(self, include_inactive: bool = True) -> list[Rule]:
        query = select(Rule).order_by(Rule.id)
        if not include_inactive:
            query = query.where(Rule.active.is_(True))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def disable(self, rule_id: int) -> bool:
        with Session(self.engine) as session, session.begin():
            result = session.execute(update(Rule).where(Rule.id == rule_id).values(active=False))
            return result.rowcount == 1

    def import_csv(self, path: str | Path) -> list[int]:
        """All-or-nothing import of `model,expression[,description[,severity[,action]]]`
        rows; a header row may name the columns in any order (model and expression
        required)."""
        rows, problems = [], []
        columns = IMPORT_COLUMNS
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            for record in reader:
                line = reader.line_num
                if not record or all(not field.strip() for field in record):
                    continue
                names = [field.strip().lower() for field in record]
                if line == 1 and "model" in names and "expression" in names:
                    unknown = [name for name in names if name not in IMPORT_COLUMNS]
                    if unknown or len(set(names)) != len(names):
                        raise RuleImportError([ImportProblem(
                            1, f"header columns must be among {','.join(IMPORT_COLUMNS)}, "
                               f"each once; got {','.join(names)}")])
                    columns = tuple(names)
                    continue
                if (columns is IMPORT_COLUMNS and not 2 <= len(record) <= 5) or \
                        (columns is not IMPORT_COLUMNS and len(record) != len(columns)):
                    problems.append(ImportProblem(
                        line, f"expected {','.join(columns[:2])}[,{','.join(columns[2:])}], "
                              f"got {len(record)} fields"))
                    continue
                values = {name: field.strip() for name, field in zip(columns, record, strict=False)}
                severity = values.get("severity") or "warning"
                try:
                    _check_model(values["model"])
                    _check_severity(severity)
                    parse_rule(values["expression"])
                except (RuleSyntaxError, ValueError) as error:
                    problems.append(ImportProblem(line, str(error)))
                    continue
                rows.append(Rule(model=values["model"], expression=values["expression"],
                                 description=values.get("description") or None,
                                 severity=severity, action=values.get("action") or None,
                                 active=True))
        if problems:
            raise RuleImportError(problems)
        with Session(self.engine) as session, session.begin():
            session.add_all(rows)
            session.flush()
            return [rule.id for rule in rows]


def _check_model(model: str) -> None:
    if not model or not model.strip() or len(model) > 64:
        raise ValueError(f"model must be 1 to 64 characters, got {model!r}")


def _check_severity(severity: str) -> None:
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
