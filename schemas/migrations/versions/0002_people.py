"""People: the equipment registry, severity and action on rules, routes, the
violation lifecycle, silences, the digests sent and the temperature breach
episodes.

Revision 0002, after 0001. Written out in full (not from the models), so it
stays what it was when the models move on.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import oracle

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UtcTimestamp = sa.DateTime().with_variant(oracle.TIMESTAMP(), "oracle")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEVERITY = "severity IN ('critical', 'warning', 'info')"


# Forward only: these run on live databases, and a later revision mends an earlier one.
def upgrade() -> None:
    # SQLite adds a CHECK only by copying the table; "always" keeps the copy
    # under the violations that refer to it (foreign keys are off meanwhile).
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("rules", recreate="always" if sqlite else "auto") as batch:
        batch.add_column(sa.Column("severity", sa.String(16), nullable=False,
                                   server_default="warning"))
        batch.add_column(sa.Column("action", sa.String(1000)))
        batch.create_check_constraint("ck_rules_severity", sa.text(SEVERITY))

    op.create_table(
        "equipment",
        sa.Column("serial_number", sa.String(64), primary_key=True),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("site", sa.String(128), nullable=False),
        sa.Column("team", sa.String(128), nullable=False),
        sa.Column("commissioned_on", sa.Date),
        sa.Column("active", sa.Boolean, nullable=False, server_default="1"),
        sa.Column("updated_at", UtcTimestamp, nullable=False,
                  server_default=sa.func.current_timestamp()),
    )
    op.create_index("ix_equipment_model", "equipment", ["model"])
    op.create_index("ix_equipment_site", "equipment", ["site"])

    op.create_table(
        "routes",
        sa.Column("id", Id, sa.Identity(), primary_key=True),
        sa.Column("recipients", sa.String(2000), nullable=False),
        sa.Column("site", sa.String(128)),
        sa.Column("team", sa.String(128)),
        sa.Column("model", sa.String(64)),
        sa.Column("min_severity", sa.String(16), nullable=False, server_default="info"),
        sa.Column("created_at", UtcTimestamp, nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.CheckConstraint("min_severity IN ('critical', 'warning', 'info')",
                           name="ck_routes_min_severity"),
    )

    op.create_table(
        "violation_states",
        sa.Column("violation_id", Id, sa.ForeignKey("violations.id"), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("acknowledged_at", UtcTimestamp),
        sa.Column("acknowledged_by", sa.String(128)),
        sa.Column("acknowledged_note", sa.String(2000)),
        sa.Column("resolved_at", UtcTimestamp),
        sa.Column("resolved_by", sa.String(128)),
        sa.Column("resolved_note", sa.String(2000)),
        sa.Column("resolution", sa.String(16)),
        sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved')",
                           name="ck_violation_states_state"),
        sa.CheckConstraint("resolution IS NULL OR "
                           "resolution IN ('repaired', 'false_positive', 'no_action')",
                           name="ck_violation_states_resolution"),
        sa.CheckConstraint("state <> 'resolved' OR "
                           "(resolved_at IS NOT NULL AND resolution IS NOT NULL)",
                           name="ck_violation_states_resolved"),
    )
    op.create_index("ix_violation_states_state", "violation_states", ["state"])

    op.create_table(
        "silences",
        sa.Column("id", Id, sa.Identity(), primary_key=True),
        sa.Column("serial_number", sa.String(64)),
        sa.Column("model", sa.String(64)),
        sa.Column("rule_id", Id, sa.ForeignKey("rules.id")),
        sa.Column("site", sa.String(128)),
        sa.Column("starts_at", UtcTimestamp, nullable=False),
        sa.Column("ends_at", UtcTimestamp, nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.Column("created_at", UtcTimestamp, nullable=False,
                  server_default=sa.func.current_timestamp()),
        sa.Column("expired_at", UtcTimestamp),
        sa.CheckConstraint("(CASE WHEN serial_number IS NULL THEN 0 ELSE 1 END"
                           " + CASE WHEN model IS NULL THEN 0 ELSE 1 END"
                           " + CASE WHEN rule_id IS NULL THEN 0 ELSE 1 END"
                           " + CASE WHEN site IS NULL THEN 0 ELSE 1 END) = 1",
                           name="ck_silences_one_scope"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_silences_period"),
    )

    op.create_table(
        "notifications_sent",
        sa.Column("id", Id, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, server_default="digest"),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("route_key", sa.String(64), nullable=False),
        sa.Column("recipients", sa.String(2000), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False, unique=True),
        sa.Column("violations", sa.Integer, nullable=False),
        sa.Column("queued_at", UtcTimestamp, nullable=False),
        sa.Column("sent_at", UtcTimestamp),
        sa.UniqueConstraint("kind", "day", "route_key",
                            name="uq_notifications_sent_kind_day_route"),
    )

    op.create_table(
        "temperature_breaches",
        sa.Column("id", Id, sa.Identity(), primary_key=True),
        sa.Column("equipment_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64)),
        sa.Column("threshold_c", sa.Float, nullable=False),
        sa.Column("started_at", UtcTimestamp, nullable=False),
        sa.Column("ended_at", UtcTimestamp),
        sa.Column("peak_average_c", sa.Float, nullable=False),
        sa.Column("emails_sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("silenced", sa.Boolean, nullable=False, server_default="0"),
        sa.UniqueConstraint("equipment_id", "started_at",
                            name="uq_temperature_breaches_equipment_started"),
    )
    op.create_index("ix_temperature_breaches_started_at", "temperature_breaches", ["started_at"])
