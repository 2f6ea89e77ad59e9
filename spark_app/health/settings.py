"""The [health] configuration section, typed once (config.settings(HealthSettings))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

from spark_app.common.config import ConfigError, env_name


@dataclass(frozen=True)
class HealthSettings:
    SECTION: ClassVar[str] = "health"

    recipients: tuple[str, ...]  # the operations route; empty: smtp.recipients
    daily_start: str  # ISO date of the first received day whose daily run is expected
    lookback_days: int  # at most this many ended days are checked
    daily_grace_minutes: int  # a day's run is expected this long after the day ended
    feed_max_silence_minutes: int  # a feed not pulled for longer is silent

    def __post_init__(self):
        for key in ("lookback_days", "feed_max_silence_minutes"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"health.{key} ({env_name('health', key)}) must be positive, "
                                  f"got {getattr(self, key)!r}")
        if self.daily_grace_minutes < 0:
            raise ConfigError(f"health.daily_grace_minutes "
                              f"({env_name('health', 'daily_grace_minutes')}) must not be "
                              f"negative, got {self.daily_grace_minutes!r}")
        _first_day(self.daily_start)  # a daily_start that is no date is refused at load

    @property
    def first_day(self) -> date | None:
        return _first_day(self.daily_start)

    @property
    def daily_grace(self) -> timedelta:
        return timedelta(minutes=self.daily_grace_minutes)

    @property
    def feed_max_silence(self) -> timedelta:
        return timedelta(minutes=self.feed_max_silence_minutes)


def _first_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ConfigError(f"health.daily_start ({env_name('health', 'daily_start')}) must "
                          f"be an ISO date (YYYY-MM-DD) or empty, got {text!r}") from None
