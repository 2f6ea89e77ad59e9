"""Rules keep their versions; each violation records the version that found it and its witness.

Revision 0003, after 0001 (re-chained after 0002 at merge).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import oracle

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# Frozen copies of the models' types: later model changes must not change this revision.
UtcTimestamp = sa.DateTime().with_variant(oracle.TIMESTAMP(), "oracle")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# Forward only: these run on live databases, and a later revision mends an earlier one.
def upgrade() -> None:
    op.add_column("rules", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "rule_versions",
        sa.Column("rule_id", Id, sa.ForeignKey("rules.id"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("expression", sa.String(4000), nullable=False),
        sa.Column("description", sa.String(1000)),
        sa.Column("created_at", UtcTimestamp, server_default=sa.func.current_timestamp(),
                  nullable=False),
    )
    # Every rule stored so far is its own version 1, as of when it was made.
    op.execute("INSERT INTO rule_versions (rule_id, version, expression, description, created_at) "
               "SELECT id, 1, expression, description, created_at FROM rules")
    op.add_column("violations", sa.Column("rule_version", sa.Integer(), server_default="1",
                                          nullable=False))
    op.add_column("violations", sa.Column("evidence", sa.Text()))
