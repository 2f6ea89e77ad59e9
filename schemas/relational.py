"""The relational tables (the thesis's PR_REGRAS and PR_VIOLACOES, plus the
record of each daily run and every version of each rule, and the people side:
the equipment registry, routes, violation lifecycle, silences, the digests sent
and the temperature breach episodes). Instants are naive datetimes in UTC."""

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


SEVERITIES = ("critical", "warning", "info")
VIOLATION_STATES = ("open", "acknowledged", "resolved")
RESOLUTIONS = ("repaired", "false_positive", "no_action")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Base(DeclarativeBase):
    pass


class Rule(Base):
    __tablename__ = "rules"
    __table_args__ = (CheckConstraint(_one_of("severity", SEVERITIES), name="ck_rules_severity"),)

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
    severity: Mapped[str] = mapped_column(String(16), default="warning", server_default="warning")
    # What the technician should do about a violation of this rule (shown in the digest).
    action: Mapped[str | None] = mapped_column(String(1000))


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


class Equipment(Base):
    """The fleet registry: where each machine is and which team looks after it.
    A serial missing here still has its violations (site and team unknown)."""
    __tablename__ = "equipment"

    serial_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    site: Mapped[str] = mapped_column(String(128), index=True)
    team: Mapped[str] = mapped_column(String(128))
    commissioned_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(UtcTimestamp, server_default=func.current_timestamp(),
                                                 onupdate=func.current_timestamp())


class Route(Base):
    """Who is told: a violation (or temperature alert) goes to every route whose
    set filters all match and whose minimum severity it reaches."""
    __tablename__ = "routes"
    __table_args__ = (CheckConstraint(_one_of("min_severity", SEVERITIES),
                                      name="ck_routes_min_severity"),)

    id: Mapped[int] = mapped_column(Id, Identity(), primary_key=True)
    recipients: Mapped[str] = mapped_column(String(2000))  # comma-separated addresses
    site: Mapped[str | None] = mapped_column(String(128))
    team: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(64))
    min_severity: Mapped[str] = mapped_column(String(16), default="info", server_default="info")
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp, server_default=func.current_timestamp())


class ViolationState(Base):
    """The lifecycle of a violation past `open`: no row means open, so the daily
    job's inserts never touch it and reruns never reset it."""
    __tablename__ = "violation_states"
    __table_args__ = (
        CheckConstraint(_one_of("state", VIOLATION_STATES), name="ck_violation_states_state"),
        CheckConstraint(f"resolution IS NULL OR {_one_of('resolution', RESOLUTIONS)}",
                        name="ck_violation_states_resolution"),
        CheckConstraint("state <> 'resolved' OR (resolved_at IS NOT NULL AND resolution IS NOT NULL)",
                        name="ck_violation_states_resolved"),
    )

    violation_id: Mapped[int] = mapped_column(ForeignKey("violations.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcTimestamp)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    acknowledged_note: Mapped[str | None] = mapped_column(String(2000))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcTimestamp)
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_note: Mapped[str | None] = mapped_column(String(2000))
    resolution: Mapped[str | None] = mapped_column(String(16))


class Silence(Base):
    """No notifications for one serial, model, rule or site between starts_at and
    ends_at (event time of the violation or reading); expiring one ends it early."""
    __tablename__ = "silences"
    __table_args__ = (
        CheckConstraint("(CASE WHEN serial_number IS NULL THEN 0 ELSE 1 END"
                        " + CASE WHEN model IS NULL THEN 0 ELSE 1 END"
                        " + CASE WHEN rule_id IS NULL THEN 0 ELSE 1 END"
                        " + CASE WHEN site IS NULL THEN 0 ELSE 1 END) = 1",
                        name="ck_silences_one_scope"),
        CheckConstraint("ends_at > starts_at", name="ck_silences_period"),
    )

    id: Mapped[int] = mapped_column(Id, Identity(), primary_key=True)
    serial_number: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id"))
    site: Mapped[str | None] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(UtcTimestamp)
    ends_at: Mapped[datetime] = mapped_column(UtcTimestamp)
    reason: Mapped[str] = mapped_column(String(2000))
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcTimestamp, server_default=func.current_timestamp())
    expired_at: Mapped[datetime | None] = mapped_column(UtcTimestamp)


class NotificationSent(Base):
    """One digest per (kind, day, route): written when queued, sent_at once the
    SMTP server accepted it. Outlives the outbox's TTL, so a digest marked sent
    is never sent again."""
    __tablename__ = "notifications_sent"
    __table_args__ = (UniqueConstraint("kind", "day", "route_key",
                                       name="uq_notifications_sent_kind_day_route"),)

    id: Mapped[int] = mapped_column(Id, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="digest", server_default="digest")
    day: Mapped[date] = mapped_column(Date)
    # "route:<id>", or "default" for smtp.recipients (what matched no route)
    route_key: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[str] = mapped_column(String(2000))
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    violations: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(UtcTimestamp)
    sent_at: Mapped[datetime | None] = mapped_column(UtcTimestamp)


class TemperatureBreach(Base):
    """One episode of a machine's average above its threshold: from the window
    that crossed to the one that recovered (ended_at NULL: still going)."""
    __tablename__ = "temperature_breaches"
    __table_args__ = (UniqueConstraint("equipment_id", "started_at",
                                       name="uq_temperature_breaches_equipment_started"),)

    id: Mapped[int] = mapped_column(Id, Identity(), primary_key=True)
    equipment_id: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    threshold_c: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UtcTimestamp, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcTimestamp)
    peak_average_c: Mapped[float] = mapped_column(Float)
    emails_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    silenced: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


TABLES = Base.metadata.sorted_tables
