"""The relational tables (the thesis's PR_REGRAS and PR_VIOLACOES, plus the
record of each daily run and every version of each rule). Instants are naive
datetimes in UTC."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects import oracle
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Oracle's DATE has no fractional seconds; violations are stamped to the millisecond.
UtcTimestamp = DateTime().with_variant(oracle.TIMESTAMP(), "oracle")
# SQLite only auto-increments an INTEGER PRIMARY KEY, not a BIGINT one.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Rule(Base):
    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Id, Identity(), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    expression: Mapped[str] = mapped_column(String(4000))
    description: Mapped[str | None] = mapped_column(String(1000))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    # The current version (rule_versions); `expression` and `description` are its text.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp, server_default=func.current_timestamp())
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp, server_default=func.current_timestamp(),
                                                 onupdate=func.current_timestamp())


class RuleVersion(Base):
    """Every expression a rule has had: `rules history`, and the text `violations
    explain` shows for the version that found a violation."""
    __tablename__ = "rule_versions"

    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    expression: Mapped[str] = mapped_column(String(4000))
    description: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp, server_default=func.current_timestamp())


class Violation(Base):
    __tablename__ = "violations"
    __table_args__ = (UniqueConstraint("rule_id", "serial_number", "ts",
                                       name="uq_violations_rule_serial_ts"),)

    id: Mapped[int] = mapped_column(Id, Identity(), primary_key=True)
    # No index of its own: the unique key's leading column serves per-rule queries,
    # and each index is one more B-tree every upsert writes.
    rule_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    serial_number: Mapped[str] = mapped_column(String(64), index=True)
    ts: Mapped[datetime] = mapped_column(UtcTimestamp, index=True)
    detected_at: Mapped[datetime] = mapped_column(UtcTimestamp)
    run_id: Mapped[str | None] = mapped_column(String(36))
    # The rule version that found it (rows from before versions existed: 1).
    rule_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The witness: the faults whose combination yields `ts`, as the JSON text
    # [[tag, epoch ms], …] (rules.witness); null for rows from before evidence existed.
    evidence: Mapped[str | None] = mapped_column(Text)


class JobRun(Base):
    __tablename__ = "job_runs"

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    started_at: Mapped[datetime] = mapped_column(UtcTimestamp)
    finished_at: Mapped[datetime | None] = mapped_column(UtcTimestamp)
    status: Mapped[str] = mapped_column(String(16))
    faults_read: Mapped[int | None] = mapped_column(BigInteger)
    pending_read: Mapped[int | None] = mapped_column(BigInteger)
    violations_new: Mapped[int | None] = mapped_column(BigInteger)
    # JSON documents: [{"rule_id", "reason"}] and [{"stage_id", "description", …}].
    rules_skipped: Mapped[str | None] = mapped_column(Text)
    stage_metrics: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class TemperatureThreshold(Base):
    """Alert threshold of the temperature watch for one equipment or one model; the
    stream uses the equipment's row, else its model's, else stream.default_threshold_c."""
    __tablename__ = "temperature_thresholds"
    __table_args__ = (
        CheckConstraint("(equipment_id IS NOT NULL AND model IS NULL) OR "
                        "(equipment_id IS NULL AND model IS NOT NULL)",
                        name="ck_temperature_thresholds_one_scope"),
    )

    id: Mapped[int] = mapped_column(Id, Identity(), primary_key=True)
    equipment_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    model: Mapped[str | None] = mapped_column(String(64), unique=True)
    threshold_c: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp, server_default=func.current_timestamp(),
                                                 onupdate=func.current_timestamp())


TABLES = Base.metadata.sorted_tables
