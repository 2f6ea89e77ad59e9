"""The rules the daily job applies: loaded once on the driver, parsed, the
broken ones set aside with their reason (never fatal)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rules.ast import Rule as ParsedRule
from rules.ast import render
from rules.errors import RuleSyntaxError
from rules.parser import parse_rule
from schemas.relational import Rule

BLOCK_LAYOUT = "blocks by shard"


@dataclass(frozen=True)
class ActiveRule:
    rule_id: int
    model: str
    expression: str
    parsed: ParsedRule
    version: int = 1

    @property
    def fingerprint(self) -> str:
        """What a generation must have been built for to serve this rule: its
        model and tags (which faults are pending) and its expression, canonical:
        an edited expression is a changed rule, which sees the recent past again
        from `faults`; an edit of its description or a new spacing is not.
        The blocks' layout is part of it: generations stored before blocks
        were kept by shard serve no rule."""
        key = "\0".join([BLOCK_LAYOUT, self.model, *sorted(self.parsed.tags),
                          render(self.parsed)])
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

    def versions(self) -> dict[int, int]:
        return {rule_id: rule.version for rule_id, rule in self.rules.items()}

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
        rules[row.id] = ActiveRule(row.id, row.model, row.expression, parsed, row.version)
    return Rulebook(rules, skipped)
