"""The fleetwatch rule language (contract: RULES.md).

    parse_rule(text) -> Rule                     rules.parser; refusals raise RuleSyntaxError
    evaluate(rule, tags, ts_ms) -> instants      rules.evaluator: one serial, the reference
    evaluate_frame(faults, rules) -> violations  rules.vectorised: many groups, for Spark
"""
from .ast import And, Or, Rule, Tag, render
from .errors import RuleSyntaxError
from .parser import parse_rule

__all__ = ["And", "Or", "Rule", "RuleSyntaxError", "Tag", "parse_rule", "render"]
