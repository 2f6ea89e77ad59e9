"""The relational schema as `fleetwatch db init` created it before migrations
existed: revision 0001 creates it, and a database made then is recognised by
comparing its tables with it.

A frozen copy on purpose: schemas/relational.py moves on with each revision,
this must not.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects import oracle

UtcTimestamp = DateTime().with_variant(oracle.TIMESTAMP(), "oracle")
Id = BigInteger().with_variant(Integer(), "sqlite")


def baseline_metadata() -> MetaData:
    """A new MetaData of the baseline tables (new each call: Alembic and the
    comparison may bind it to different connections)."""
    metadata = MetaData()
    Table(
        "job_runs", metadata,
        Column("run_id", String(36), primary_key=True),
        Column("day", Date, nullable=False),
        Column("started_at", UtcTimestamp, nullable=False),
        Column("finished_at", UtcTimestamp),
        Column("status", String(16), nullable=False),
        Column("faults_read", BigInteger),
        Column("pending_read", BigInteger),
        Column("violations_new", BigInteger),
        Column("rules_skipped", Text),
        Column("stage_metrics", Text),
        Column("error", Text),
        Index("ix_job_runs_day", "day"),
    )
    Table(
        "rules", metadata,
        Column("id", Id, Identity(), primary_key=True),
        Column("model", String(64), nullable=False),
        Column("expression", String(4000), nullable=False),
        Column("description", String(1000)),
        Column("active", Boolean, nullable=False, server_default="1"),
        Column("created_at", UtcTimestamp, nullable=False,
               server_default=func.current_timestamp()),
        Column("updated_at", UtcTimestamp, nullable=False,
               server_default=func.current_timestamp()),
        Index("ix_rules_model", "model"),
    )
    Table(
        "temperature_thresholds", metadata,
        Column("id", Id, Identity(), primary_key=True),
        Column("equipment_id", String(64), unique=True),
        Column("model", String(64), unique=True),
        Column("threshold_c", Float, nullable=False),
        Column("updated_at", UtcTimestamp, nullable=False,
               server_default=func.current_timestamp()),
        CheckConstraint("(equipment_id IS NOT NULL AND model IS NULL) OR "
                        "(equipment_id IS NULL AND model IS NOT NULL)",
                        name="ck_temperature_thresholds_one_scope"),
    )
    Table(
        "violations", metadata,
        Column("id", Id, Identity(), primary_key=True),
        Column("rule_id", Id, ForeignKey("rules.id"), nullable=False),
        Column("serial_number", String(64), nullable=False),
        Column("ts", UtcTimestamp, nullable=False),
        Column("detected_at", UtcTimestamp, nullable=False),
        Column("run_id", String(36)),
        UniqueConstraint("rule_id", "serial_number", "ts", name="uq_violations_rule_serial_ts"),
        Index("ix_violations_serial_number", "serial_number"),
        Index("ix_violations_ts", "ts"),
    )
    return metadata
