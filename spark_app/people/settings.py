"""The [notify] configuration section, typed once (config.settings(NotifySettings))."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from schemas.relational import SEVERITIES
from spark_app.common.config import ConfigError, env_name


@dataclass(frozen=True)
class NotifySettings:
    SECTION: ClassVar[str] = "notify"

    max_age_days: int  # a digest older than this many days goes out only with --force
    chart_days: int  # days the digest's chart shows, ending on the digest's day
    temperature_severity: str  # the severity routes see for a temperature alert

    def __post_init__(self):
        if self.max_age_days < 0:
            raise ConfigError(f"notify.max_age_days ({env_name('notify', 'max_age_days')}) "
                              "must not be negative")
        if self.chart_days < 1:
            raise ConfigError(f"notify.chart_days ({env_name('notify', 'chart_days')}) "
                              "must be at least 1")
        if self.temperature_severity not in SEVERITIES:
            raise ConfigError(
                f"notify.temperature_severity ({env_name('notify', 'temperature_severity')}) "
                f"must be one of {', '.join(SEVERITIES)}, got {self.temperature_severity!r}")


@dataclass(frozen=True)
class ReportLink:
    """The one key of [report] the digest reads (the report's own view is the report
    box's): where the reports are served, so a digest can link to its day's page."""
    SECTION: ClassVar[str] = "report"

    base_url: str

    def url_for(self, day) -> str | None:
        return f"{self.base_url.rstrip('/')}/{day.isoformat()}.html" if self.base_url else None
