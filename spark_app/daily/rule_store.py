"""Rules in the relational database: validated when saved, never stored broken,
and versioned: an edit stores a new version and keeps every earlier one."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from rules.errors import RuleSyntaxError
from rules.parser import parse_rule
from schemas.relational import SEVERITIES, Rule, RuleVersion
from spark_app.common.csv_import import CsvImportError, ImportProblem

# The columns of `rules import`, in the order a file without a header gives them.
IMPORT_COLUMNS = ("model", "expression", "description", "severity", "action")


class RuleImportError(CsvImportError):
    """Nothing imported; `problems` lists every bad line."""


class UnknownRule(LookupError):
    def __init__(self, rule_id: int):
        self.rule_id = rule_id
        super().__init__(f"no rule with id {rule_id}")


@dataclass(frozen=True)
class Edit:
    rule_id: int
    version: int
    changed: bool  # False: the edit matched the current version, nothing stored
    attributes_changed: bool = False  # severity or action set (the rule's, not versioned)


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
                        severity=severity, action=action, active=True, version=1)
            session.add(rule)
            session.flush()
            session.add(_version_of(rule))
            return rule.id

    def edit(self, rule_id: int, expression: str | None = None,
             description: str | None = None, severity: str | None = None,
             action: str | None = None) -> Edit:
        """Store a new version with the given expression and/or description (the
        others as they are), after parsing the expression; the old versions stay.
        Severity and action are the rule's current attributes (routes read them):
        set in place, never a new version. An edit that changes nothing stores
        nothing. Raises UnknownRule, RuleSyntaxError or ValueError (nothing stored)."""
        if expression is not None:
            parse_rule(expression)
        if severity is not None:
            _check_severity(severity)
        with Session(self.engine) as session, session.begin():
            rule = session.get(Rule, rule_id, with_for_update=True)
            if rule is None:
                raise UnknownRule(rule_id)
            new_severity = rule.severity if severity is None else severity
            new_action = rule.action if action is None else action or None
            attributes_changed = (new_severity, new_action) != (rule.severity, rule.action)
            rule.severity, rule.action = new_severity, new_action
            new_expression = rule.expression if expression is None else expression
            new_description = rule.description if description is None else description or None
            if (new_expression, new_description) == (rule.expression, rule.description):
                return Edit(rule_id, rule.version, changed=False,
                            attributes_changed=attributes_changed)
            if session.get(RuleVersion, (rule_id, rule.version)) is None:
                session.add(_version_of(rule))  # a rule stored without its versions
            rule.version += 1
            rule.expression, rule.description = new_expression, new_description
            session.add(_version_of(rule))
            return Edit(rule_id, rule.version, changed=True,
                        attributes_changed=attributes_changed)

    def history(self, rule_id: int) -> list[RuleVersion]:
        """Every version of the rule, oldest first. Raises UnknownRule."""
        with Session(self.engine) as session:
            rule = session.get(Rule, rule_id)
            if rule is None:
                raise UnknownRule(rule_id)
            versions = list(session.scalars(select(RuleVersion).where(
                RuleVersion.rule_id == rule_id).order_by(RuleVersion.version)))
            if not versions or versions[-1].version != rule.version:
                # A rule stored without its versions (straight into the table):
                # its current text is its only known version.
                versions.append(_version_of(rule, rule.updated_at))
            session.expunge_all()
            return versions

    def version(self, rule_id: int, version: int) -> RuleVersion | None:
        """One version's text (a rule stored without its versions has its current one)."""
        with Session(self.engine) as session:
            found = session.get(RuleVersion, (rule_id, version))
            if found is None:
                rule = session.get(Rule, rule_id)
                found = _version_of(rule) if rule is not None and rule.version == version else None
            session.expunge_all()
            return found

    def get(self, rule_id: int) -> Rule | None:
        with Session(self.engine) as session:
            rule = session.get(Rule, rule_id)
            session.expunge_all()
            return rule

    def list(self, include_inactive: bool = True) -> list[Rule]:
        query = select(Rule).order_by(Rule.id)
        if not include_inactive:
            query = query.where(Rule.active.is_(True))
        with Session(self.engine) as session:
            return list(session.scalars(query))

    def disable(self, rule_id: int) -> bool:
        return self._set_active(rule_id, False)

    def enable(self, rule_id: int) -> bool:
        return self._set_active(rule_id, True)

    def _set_active(self, rule_id: int, active: bool) -> bool:
        with Session(self.engine) as session, session.begin():
            result = session.execute(update(Rule).where(Rule.id == rule_id).values(active=active))
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
                                 active=True, version=1))
        if problems:
            raise RuleImportError(problems)
        with Session(self.engine) as session, session.begin():
            session.add_all(rows)
            session.flush()
            session.add_all([_version_of(rule) for rule in rows])
            return [rule.id for rule in rows]


def _version_of(rule: Rule, created_at: datetime | None = None) -> RuleVersion:
    """The rule's current text as a version row (created_at None: now, by the database)."""
    version = RuleVersion(rule_id=rule.id, version=rule.version, expression=rule.expression,
                          description=rule.description)
    if created_at is not None:  # an explicit None would insert NULL, not the default
        version.created_at = created_at
    return version


def _check_model(model: str) -> None:
    if not model or not model.strip() or len(model) > 64:
        raise ValueError(f"model must be 1 to 64 characters, got {model!r}")


def _check_severity(severity: str) -> None:
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
