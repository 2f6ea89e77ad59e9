"""The relational tables and the rule store on SQLite and a real PostgreSQL."""

from datetime import datetime

import pytest
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError

from rules.errors import RuleSyntaxError
from schemas.relational import Violation
from spark_app.common.relational import create_tables
from spark_app.daily.rule_store import RuleImportError, RuleStore


def test_creating_tables_twice_changes_nothing(engine):
    before = {t: [c["name"] for c in inspect(engine).get_columns(t)]
              for t in inspect(engine).get_table_names()}
    create_tables(engine)
    after = {t: [c["name"] for c in inspect(engine).get_columns(t)]
             for t in inspect(engine).get_table_names()}
    assert before == after
    assert {"rules", "violations", "job_runs"} <= set(after)


def test_a_violation_is_stored_once_per_rule_serial_instant(engine):
    rule_id = RuleStore(engine).add("JAP", "#A E:10 #B")
    row = dict(rule_id=rule_id, serial_number="JAP00100",
               ts=datetime(2016, 11, 16, 13, 34, 0, 123000),
               detected_at=datetime(2016, 11, 19))
    with engine.begin() as connection:
        connection.execute(insert(Violation), [row])
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(Violation), [row])
    with engine.connect() as connection:
        stored = connection.execute(Violation.__table__.select()).all()
    assert len(stored) == 1 and stored[0].ts == row["ts"]  # milliseconds kept


def test_rule_store_add_list_disable(engine):
    store = RuleStore(engine)
    first = store.add("JAP", "#1.123.456.789 tti:120", "overheating")
    second = store.add("KOM", "(#A E:20 #B) OU (#C E:30 #D) tti:40")
    assert store.disable(first) and not store.disable(9999)
    listed = {rule.id: (rule.model, rule.active) for rule in store.list()}
    assert listed == {first: ("JAP", False), second: ("KOM", True)}
    assert [rule.id for rule in store.list(include_inactive=False)] == [second]


def test_an_invalid_rule_is_refused_and_nothing_stored(engine):
    store = RuleStore(engine)
    with pytest.raises(RuleSyntaxError):
        store.add("JAP", "#A OU")
    assert store.list() == []


def test_import_is_all_or_nothing_with_every_bad_line_reported(engine, tmp_path):
    store = RuleStore(engine)
    bad = tmp_path / "rules.csv"
    bad.write_text("model,expression,description\n"
                   "JAP,#A E:10 #B,fine\n"
                   "JAP,#A OU\n"
                   "KOM,#C tti:5,ok\n"
                   "KOM,(#A E:10 #B,unclosed\n"
                   "only-one-field\n")
    with pytest.raises(RuleImportError) as error:
        store.import_csv(bad)
    assert [problem.line for problem in error.value.problems] == [3, 5, 6]
    assert store.list() == []
    good = tmp_path / "good.csv"
    good.write_text("JAP,#A E:10 #B,fine\nKOM,\"#C OU #D\"\n")
    assert len(store.import_csv(good)) == 2
    assert [rule.expression for rule in store.list()] == ["#A E:10 #B", "#C OU #D"]
