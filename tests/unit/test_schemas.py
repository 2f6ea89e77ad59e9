import pytest

from schemas import ddl
from schemas.relational import Violation


@pytest.mark.parametrize("dialect", sorted(ddl.DIALECTS))
def test_sql_folder_matches_the_models(dialect):
    """sql/<dialect>/schema.sql must be what the models compile to; run
    `python -m schemas.ddl` after changing schemas/relational.py."""
    assert ddl.schema_path(dialect).read_text() == ddl.render(dialect)


@pytest.mark.parametrize("dialect", sorted(ddl.VIEW_DIALECTS))
def test_sql_views_match_the_template(dialect):
    assert ddl.views_path(dialect).read_text() == ddl.render_views(dialect)


def test_violations_are_unique_per_rule_serial_instant():
    unique = [c for c in Violation.__table__.constraints
              if c.__class__.__name__ == "UniqueConstraint"]
    assert [[column.name for column in c.columns] for c in unique] == [
        ["rule_id", "serial_number", "ts"]]


def test_oracle_keeps_milliseconds():
    # Oracle DATE drops fractions of a second; violations need TIMESTAMP.
    oracle_ddl = ddl.render("oracle")
    assert "ts TIMESTAMP NOT NULL" in oracle_ddl
