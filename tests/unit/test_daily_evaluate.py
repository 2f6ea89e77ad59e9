"""The daily job's Python side on small frames (no JVM): pending blocks round
trip, block cutting, and which rows count for which rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from spark_app.daily.evaluate import Evaluation, complete_groups
from spark_app.daily.pending_blocks import BlockPacker, decode, encode

T0 = 1_479_300_000_000  # 2016-11-16T12:40:00Z in ms


def faults_frame(rows):
    return pd.DataFrame(rows, columns=["serial_number", "model", "tag", "ts", "scope"])


def evaluation(scope_rules=None):
    return Evaluation(
        expressions={1: "#A E:60 #B", 2: "#C"}, versions={1: 1, 2: 3},
        rule_tags=(("JAP", "#A", 1), ("JAP", "#B", 1), ("JAP", "#C", 2)),
        scope_rules=scope_rules or {}, db_url="sqlite://", run_id="r",
        detected_at=datetime(2016, 11, 17), upsert_batch_size=10, block_rows=3)


def test_a_block_decodes_to_the_faults_it_was_made_of():
    faults = faults_frame([("JAP1", "JAP", "#A", T0, 0), ("JAP2", "KOM", "#B", T0 + 1, 0)])
    table = decode(encode(faults))
    assert table.column("serial_number").to_pylist() == ["JAP1", "JAP2"]
    assert table.column("model").to_pylist() == ["JAP", "KOM"]
    assert table.column("ts").to_pylist() == [
        datetime(2016, 11, 16, 12, 40, tzinfo=UTC),
        datetime(2016, 11, 16, 12, 40, 0, 1000, tzinfo=UTC)]


def test_the_packer_cuts_full_blocks_and_flushes_the_rest():
    packer = BlockPacker(shard=5, block_rows=3)
    rows = faults_frame([(f"S{n}", "JAP", "#A", T0 + n, 0) for n in range(7)])
    first = list(packer.add(rows.iloc[:2]))
    second = list(packer.add(rows.iloc[2:]))
    last = list(packer.flush())
    assert first == []
    assert [(shard, block, count) for shard, block, count, _ in second + last] == \
        [(5, 5_000_000, 3), (5, 5_000_001, 3), (5, 5_000_002, 1)]
    decoded = [decode(payload).column("serial_number").to_pylist()
               for *_, payload in second + last]
    assert decoded == [["S0", "S1", "S2"], ["S3", "S4", "S5"], ["S6"]]


def test_complete_groups_never_splits_a_serial():
    batches = [faults_frame([("S1", "JAP", "#A", T0, 0), ("S2", "JAP", "#A", T0, 0)]),
               faults_frame([("S2", "JAP", "#B", T0, 0), ("S3", "JAP", "#A", T0, 0)])]
    cut = [list(batch["serial_number"]) for batch in complete_groups(iter(batches))]
    assert cut == [["S1"], ["S2", "S2"], ["S3"]]


def test_pending_rows_count_only_for_the_rules_of_their_scope():
    run = evaluation(scope_rules={1: frozenset({1}), -1: frozenset({2})})
    rules, tti = run.rules()
    rule_tags = pd.DataFrame(list(run.rule_tags), columns=["model", "tag", "rule_id"])
    faults = faults_frame([
        ("JAP1", "JAP", "#A", T0, 1),            # pending for rule 1 (generation D-1)
        ("JAP1", "JAP", "#B", T0 + 30_000, 0),   # today: completes rule 1's pair
        ("JAP1", "JAP", "#C", T0 + 40_000, 1),   # generation D-1 does not serve rule 2
        ("JAP1", "JAP", "#C", T0 + 50_000, -1),  # read again for rule 2: a violation
        ("JAP2", "JAP", "#A", T0, 1),            # only old faults: nothing new possible
        ("JAP2", "JAP", "#B", T0 + 10_000, 1),
    ])
    found = run.violations(faults, rules, tti, rule_tags)
    assert sorted(map(tuple, found[["rule_id", "serial_number", "ts"]].to_numpy().tolist())) == \
        [(1, "JAP1", T0 + 30_000), (2, "JAP1", T0 + 50_000)]  # stamped at the later fault


def test_violations_carry_their_witness_and_rule_version_across_days():
    """The pair completed today is witnessed by the pending fault of D-1 it
    combined with; each row records the version of the rule that found it."""
    from spark_app.daily.evaluate import _violation_rows

    run = evaluation(scope_rules={1: frozenset({1, 2})})
    rules, tti = run.rules()
    rule_tags = pd.DataFrame(list(run.rule_tags), columns=["model", "tag", "rule_id"])
    faults = faults_frame([
        ("JAP1", "JAP", "#A", T0, 1),
        ("JAP1", "JAP", "#B", T0 + 30_000, 0),
        ("JAP1", "JAP", "#C", T0 + 50_000, 0),
    ])
    rows = _violation_rows(run.violations(faults, rules, tti, rule_tags), run.versions)
    assert rows[["rule_id", "rule_version", "evidence"]].to_numpy().tolist() == [
        [1, 1, '[["#A",1479300000000],["#B",1479300030000]]'],
        [2, 3, '[["#C",1479300050000]]']]


def test_a_task_evaluates_each_shard_of_its_partition_and_stores_what_it_finds(tmp_path):
    """Evaluation.run on one Arrow partition holding two shards, out of order:
    each shard is sorted and evaluated alone, its violations upserted from the
    task, one row of counts comes back per shard; a rerun finds them stored."""
    import pyarrow as pa
    from sqlalchemy import create_engine, insert, select

    from schemas.relational import Rule, Violation
    from spark_app.common.relational import create_tables

    url = f"sqlite:///{tmp_path / 'task.db'}"
    engine = create_engine(url)
    create_tables(engine)
    with engine.begin() as connection:
        connection.execute(insert(Rule), [{"id": 1, "model": "JAP", "expression": "#A E:60 #B"},
                                          {"id": 2, "model": "JAP", "expression": "#C"}])
    run = Evaluation(
        expressions={1: "#A E:60 #B", 2: "#C"}, versions={1: 1, 2: 3},
        rule_tags=(("JAP", "#A", 1), ("JAP", "#B", 1), ("JAP", "#C", 2)),
        scope_rules={}, db_url=url, run_id="run-1", detected_at=datetime(2016, 11, 17),
        upsert_batch_size=10, block_rows=3)
    us = 1000  # Spark hands timestamps to Arrow in microseconds
    batch = pa.record_batch({
        "serial_number": ["JAP2", "JAP1", "JAP2", "JAP1", "JAP3"],
        "model": ["JAP"] * 5,
        "tag": ["#B", "#B", "#A", "#A", "#C"],
        "ts": pa.array([(T0 + 20_000) * us, (T0 + 90_000) * us, T0 * us, T0 * us, T0 * us],
                       pa.timestamp("us", tz="UTC")),
        "scope": pa.array([0] * 5, pa.int32()),
        "shard": pa.array([7, 3, 7, 3, 7], pa.int32()),
    })
    outcomes = [row for out in run.run(iter([batch])) for row in out.to_pylist()]
    seconds = [{key: row.pop(key) for key in list(row) if key.endswith("_s")} for row in outcomes]
    assert outcomes == [
        {"shard": 3, "found": 0, "new": 0, "pending_read": 0, "pending_written": 0},
        {"shard": 7, "found": 2, "new": 2, "pending_read": 0, "pending_written": 0}]
    # where each shard's time went: every part, none negative
    assert [sorted(parts) for parts in seconds] == [
        ["evaluate_s", "pending_s", "sort_s", "store_blocks_s", "store_violations_s"]] * 2
    assert all(value >= 0 for parts in seconds for value in parts.values())
    with engine.connect() as connection:
        stored = connection.execute(select(Violation.rule_id, Violation.serial_number,
                                           Violation.rule_version, Violation.run_id)
                                    .order_by(Violation.rule_id)).all()
    assert [tuple(row) for row in stored] == [(1, "JAP2", 1, "run-1"), (2, "JAP3", 3, "run-1")]
    again = [row for out in run.run(iter([batch])) for row in out.to_pylist()]
    assert [(row["found"], row["new"]) for row in again] == [(0, 0), (2, 0)]
    engine.dispose()


def test_a_part_timed_net_of_the_parts_inside_it_counts_only_its_own_time(monkeypatch):
    from spark_app.daily import evaluate

    instants = iter([10.0, 11.0, 13.0, 20.0])  # outer starts, inner 11..13, outer ends
    monkeypatch.setattr(evaluate.time, "perf_counter", lambda: next(instants))
    clock = evaluate.PartClock()
    with clock.part("store_violations", excluding=("evaluate",)):
        with clock.part("evaluate"):
            pass
    assert clock.seconds["evaluate"] == 2.0
    assert clock.seconds["store_violations"] == 8.0
    assert clock.seconds["sort"] == 0.0


def test_task_seconds_read_largest_first_in_one_line():
    from spark_app.daily.main import task_seconds_text

    assert task_seconds_text({"pending": 0.0, "sort": 1.25, "evaluate": 10.0,
                              "store_violations": 8.5, "store_blocks": 0.5}) == (
        "task seconds: evaluate 10.0s, store violations 8.5s, sort 1.2s, store blocks 0.5s, "
        "pending 0.0s (of 20.2s in Python, summed over the shards)")
