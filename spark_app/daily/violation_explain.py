"""`fleetwatch violations explain ID`: why a stored violation exists, from its
evidence: the rule text of the version that found it, its witness faults, and
the windows they satisfy (rules.witness)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy import Engine, select

from rules.ast import render_duration
from rules.parser import parse_rule
from rules.timefmt import format_iso_ms
from rules.witness import Step, explain, witness_faults
from schemas.relational import Violation
from spark_app.common.output import Column, epoch_ms, write_listing
from spark_app.daily.rule_store import RuleStore


@dataclass(frozen=True)
class Explanation:
    id: int
    rule_id: int
    rule_version: int
    serial_number: str
    ts_ms: int
    expression: str
    faults: list[tuple[str, int]] | None  # None: stored before evidence was recorded
    steps: list[Step] | None  # None: the evidence does not fit the expression
    tti_ms: int | None
    previous_ms: int | None  # the rule's stored violation of this serial just before

    def as_json(self) -> dict:
        return {"violation": {"id": self.id, "rule_id": self.rule_id,
                              "rule_version": self.rule_version,
                              "serial_number": self.serial_number,
                              "timestamp": format_iso_ms(self.ts_ms),
                              "expression": self.expression},
                "faults": [{"tag": tag, "timestamp": format_iso_ms(instant)}
                           for tag, instant in self.faults or []]}


def explain_violation(engine: Engine, violation_id: int) -> Explanation | None:
    """The explanation of violation `violation_id`, None if there is none."""
    with engine.connect() as connection:
        row = connection.execute(
            select(Violation.rule_id, Violation.rule_version, Violation.serial_number,
                   Violation.ts, Violation.evidence).where(Violation.id == violation_id)).first()
        if row is None:
            return None
        rule_id, version, serial, ts, evidence = row
        previous = connection.execute(
            select(Violation.ts).where(Violation.rule_id == rule_id,
                                       Violation.serial_number == serial, Violation.ts < ts)
            .order_by(Violation.ts.desc()).limit(1)).scalar()
    stored = RuleStore(engine).version(rule_id, version)
    expression = stored.expression if stored is not None else "?"
    instant = epoch_ms(ts)
    faults = witness_faults(evidence) if evidence is not None else None
    rule = parse_rule(expression) if stored is not None else None
    steps = explain(rule, faults, instant) if rule is not None and faults is not None else None
    return Explanation(violation_id, rule_id, version, serial, instant, expression, faults, steps,
                       rule.tti_ms if rule is not None else None,
                       epoch_ms(previous) if previous is not None else None)


def print_explanation(explanation: Explanation, output_format: str, out: TextIO) -> None:
    if output_format == "json":
        json.dump(explanation.as_json(), out, indent=1, ensure_ascii=False)
        out.write("\n")
        return
    out.write(f"violation {explanation.id}: rule {explanation.rule_id} version "
              f"{explanation.rule_version}, serial {explanation.serial_number}, at "
              f"{format_iso_ms(explanation.ts_ms)}\n")
    out.write(f"rule: {explanation.expression}\n")
    if explanation.faults is None:
        out.write("no evidence stored: this violation was found before evidence was recorded\n")
        return
    out.write("witness faults:\n")
    write_listing([{"tag": tag, "timestamp": format_iso_ms(instant)}
                   for tag, instant in explanation.faults],
                  [Column("tag"), Column("timestamp")], "table", out, noun="fault")
    if explanation.steps is None:
        out.write("these faults do not yield the violation under the rule's text\n")
        return
    for step in explanation.steps:
        out.write(f"  {step.text}: {step.detail}\n")
    if explanation.tti_ms is not None:
        before = ("no earlier violation of this rule and serial is stored"
                  if explanation.previous_ms is None else
                  f"the previous violation of this rule and serial is at "
                  f"{format_iso_ms(explanation.previous_ms)}")
        out.write(f"  tti:{render_duration(explanation.tti_ms)}: kept; {before}\n")
