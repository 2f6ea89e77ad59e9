"""Baseline: the tables exactly as `fleetwatch db init` created them before migrations."""

from alembic import op

from schemas.migrations.baseline import baseline_metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    baseline_metadata().create_all(op.get_bind())
