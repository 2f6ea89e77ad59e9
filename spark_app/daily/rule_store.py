"""Rules in the relational database: validated when saved, never stored broken."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from rules.errors import RuleSyntaxError
from rules.parser import parse_rule
from schemas.relational import Rule


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

    def add(self, model: str, expression: str, description: str | None = None) -> int:
        """Store a rule after parsing it; a RuleSyntaxError stores nothing."""
        _check_model(model)
        parse_rule(expression)
        with Session(self.engine) as session, session.begin():
            rule = Rule(model=model, expression=expression, description=description, active=True)
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
        """All-or-nothing import of `model,expression[,description]` rows."""
        rows, problems = [], []
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            for record in reader:
                line = reader.line_num
                if not record or all(not field.strip() for field in record):
                    continue
                if line == 1 and [field.strip().lower() for field in record[:2]] == \
                        ["model", "expression"]:
                    continue  # header row
                if len(record) not in (2, 3):
                    problems.append(ImportProblem(
                        line, f"expected model,expression[,description], got {len(record)} fields"))
                    continue
                model, expression = record[0].strip(), record[1].strip()
                description = record[2].strip() if len(record) == 3 else None
                try:
                    _check_model(model)
                    parse_rule(expression)
                except (RuleSyntaxError, ValueError) as error:
                    problems.append(ImportProblem(line, str(error)))
                    continue
                rows.append((model, expression, description or None))
        if problems:
            raise RuleImportError(problems)
        with Session(self.engine) as session, session.begin():
            stored = [Rule(model=m, expression=e, description=d, active=True) for m, e, d in rows]
            session.add_all(stored)
            session.flush()
            return [rule.id for rule in stored]


def _check_model(model: str) -> None:
    if not model or not model.strip() or len(model) > 64:
        raise ValueError(f"model must be 1 to 64 characters, got {model!r}")
