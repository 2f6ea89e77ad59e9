"""The rules the daily job applies: loaded once on the driver, parsed, the
broken ones set aside with their reason (never fatal)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rules.ast import Rule as ParsedRule
from rules.errors import RuleSyntaxError
from rules.parser import parse_rule
from schemas.relational import Rule


@dataclass(frozen=True)
class ActiveRule:
    rule_id: int
    model: str
    expression: str
    parsed: ParsedRule

    @property
    def fingerprint(self) -> str:
        """What decides which faults are pending for this rule: its model and tags.
        A generation built for the same fingerprint serves the rule unchanged."""
        key = self.model + "\0" + "\0".join(sorted(self.parsed.tags))
        return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SkippedRule:
    rule_id: int
    reason: str

    def as_dict(self) -> dict:
        return {"rule_id": self.rule_id, "reason": self.reason}


@dataclass(frozen=True)
class Rulebook:
    rules: dict[int, ActiveRule]
    skipped: list[SkippedRule] = field(default_factory=list)

    def tag_rows(self, rule_ids=None) -> list[tuple[str, str, int]]:
        """(model, tag, rule_id) for every tag of every rule: the join map."""
        chosen = self.rules if rule_ids is None else {i: self.rules[i] for i in rule_ids}
        return sorted({(rule.model, tag, rule.rule_id)
                       for rule in chosen.values() for tag in rule.parsed.tags})

    def tag_pairs(self, rule_ids=None) -> list[tuple[str, str]]:
        """The (model, tag) pairs the rules mention: what makes a fault relevant."""
        return sorted({(model, tag) for model, tag, _ in self.tag_rows(rule_ids)})

    def expressions(self) -> dict[int, str]:
        return {rule_id: rule.expression for rule_id, rule in self.rules.items()}

    def fingerprints(self) -> dict[int, str]:
        return {rule_id: rule.fingerprint for rule_id, rule in self.rules.items()}


def load_rulebook(engine: Engine) -> Rulebook:
    with Session(engine) as session:
        stored = list(session.scalars(select(Rule).where(Rule.active.is_(True)).order_by(Rule.id)))
    rules, skipped = {}, []
    for row in stored:
        try:
            parsed = parse_rule(row.expression)
        except RuleSyntaxError as error:
            skipped.append(SkippedRule(row.id, f"does not parse: {error}"))
            continue
        rules[row.id] = ActiveRule(row.id, row.model, row.expression, parsed)
    return Rulebook(rules, skipped)
