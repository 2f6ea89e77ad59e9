"""The thesis-style pipeline, as the seed's appendix A runs it (`Processor.Processar`):
faults as an RDD, a broadcast (model, tag) -> rules lookup expanded with flatMap,
groupByKey on (serial number, rule), then a per-group interpreter.

Here the interpreter is the project's simple evaluator (one rule over one
serial's faults), so the baseline differs from fleetwatch's daily job only in
how Spark moves and groups the rows, not in what a rule means.
"""
from __future__ import annotations

from collections import defaultdict

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from rules.evaluator import evaluate
from rules.parser import parse_rule


def thesis_style_violations(spark: SparkSession, faults: DataFrame,
                            rules: list[tuple[int, str, str]]) -> int:
    """The number of violations of `rules` ((rule_id, model, expression)) over `faults`
    (serial_number, model, tag, ts), tti included."""
    rule_ids_by_model_tag: dict[tuple[str, str], list[int]] = defaultdict(list)
    for rule_id, model, expression in rules:
        for tag in parse_rule(expression).tags:
            rule_ids_by_model_tag[(model, tag)].append(rule_id)
    context = spark.sparkContext
    lookup = context.broadcast(dict(rule_ids_by_model_tag))
    expressions = context.broadcast({rule_id: expression for rule_id, _, expression in rules})

    def with_its_rules(fault):
        for rule_id in lookup.value.get((fault.model, fault.tag), ()):
            yield (fault.serial_number, rule_id), (fault.tag, fault.ts_ms)

    def violations_per_group(groups):
        parsed = {}  # each rule parsed once per partition, as it is first met
        for (_, rule_id), group in groups:
            if rule_id not in parsed:
                parsed[rule_id] = parse_rule(expressions.value[rule_id])
            tags, instants = zip(*group, strict=True)
            yield len(evaluate(parsed[rule_id], tags, instants))

    # Epoch milliseconds computed by Spark: exact whatever the Python workers' time zone.
    rows = faults.select("serial_number", "model", "tag", F.unix_millis("ts").alias("ts_ms"))
    return int(rows.rdd.flatMap(with_its_rules).groupByKey()
               .mapPartitions(violations_per_group).sum())
