"""What `fleetwatch health` looks at, and the findings it reports: each ended
day since health.daily_start (at most health.lookback_days back) has a latest
daily run that did not fail, and each feed was pulled within
health.feed_max_silence_minutes. A finding carries the key its e-mail is sent
under, so the same finding is told once however often the check runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select

from schemas.relational import JobRun
from spark_app.health.settings import HealthSettings
from spark_app.ingest.feed_status import FeedState

# Statuses of a day's latest run that need someone (running is still in progress).
TROUBLED = ("failed", "abandoned")


@dataclass(frozen=True)
class Finding:
    check: str  # "daily" or "feed"
    subject: str  # the day or the feed it is about
    reason: str
    key: str  # identifies this finding: its e-mail's outbox id


def days_due(settings: HealthSettings, now: datetime) -> list[date]:
    """The ended days whose daily run should exist by `now`, oldest first: from
    health.daily_start (none when it is empty), at most lookback_days of them."""
    if settings.first_day is None:
        return []
    last = (now - settings.daily_grace).astimezone(UTC).date() - timedelta(days=1)
    first = max(settings.first_day, last - timedelta(days=settings.lookback_days - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def latest_runs(engine: Engine, first: date, last: date) -> dict[date, JobRun]:
    """Each day's latest run between first and last (one row per day)."""
    latest = (select(JobRun.day, func.max(JobRun.started_at).label("started_at"))
              .where(JobRun.day.between(first, last)).group_by(JobRun.day).subquery())
    query = select(JobRun).join(latest, (JobRun.day == latest.c.day)
                                & (JobRun.started_at == latest.c.started_at))
    with engine.connect() as connection:
        return {run.day: run for run in connection.execute(query)}


def daily_findings(engine: Engine, days: list[date]) -> list[Finding]:
    if not days:
        return []
    runs = latest_runs(engine, days[0], days[-1])
    findings = []
    for day in days:
        run = runs.get(day)
        if run is None:
            findings.append(Finding("daily", day.isoformat(),
                                    f"no daily run recorded for {day}",
                                    f"health-daily-missing-{day}"))
        elif run.status in TROUBLED:
            error = (run.error or "").strip().splitlines()
            detail = f": {error[-1][:300]}" if error else ""
            findings.append(Finding("daily", day.isoformat(),
                                    f"latest daily run of {day} ({run.run_id}) is "
                                    f"{run.status}{detail}",
                                    f"health-daily-{run.status}-{run.run_id}"))
    return findings


def feed_findings(states: list[FeedState], expected: list[str], settings: HealthSettings,
                  now: datetime) -> list[Finding]:
    """Feeds whose last pull is older than the allowed silence, and the expected
    feeds never pulled. A silence is keyed by the last pull it follows: one
    e-mail per silence, a new one only after the feed was pulled and fell silent again."""
    limit = now - settings.feed_max_silence
    known = {state.feed for state in states}
    never = [Finding("feed", feed, f"feed {feed} has never been pulled",
                     f"health-feed-never-{feed}") for feed in expected if feed not in known]
    return never + [Finding("feed", state.feed,
                    f"feed {state.feed} not pulled since "
                    f"{state.updated_at:%Y-%m-%dT%H:%M:%SZ} (more than "
                    f"{settings.feed_max_silence_minutes} minutes)",
                    f"health-feed-silent-{state.feed}-{state.updated_at:%Y%m%dT%H%M%S}")
            for state in states if state.updated_at < limit]
