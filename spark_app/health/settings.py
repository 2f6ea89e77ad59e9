"""The [health] configuration section, checked and typed once (config.settings(HealthSettings))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from spark_app.common.config import Config, ConfigError, env_name


@dataclass(frozen=True)
class HealthSettings:
    recipients: tuple[str, ...]  # the operations route
    daily_start: date | None  # first received day whose daily run is expected
    lookback_days: int  # at most this many ended days are checked
    daily_grace: timedelta  # a day's run is expected this long after the day ended
    feed_max_silence: timedelta  # a feed not pulled for longer is silent

    @classmethod
    def from_config(cls, config: Config) -> HealthSettings:
        def positive(key: str) -> int:
            value = config.get("health", key)
            if value <= 0:
                raise ConfigError(f"health.{key} ({env_name('health', key)}) must be positive, "
                                  f"got {value!r}")
            return value

        start = config.get("health", "daily_start")
        try:
            daily_start = date.fromisoformat(start) if start else None
        except ValueError:
            raise ConfigError(f"health.daily_start ({env_name('health', 'daily_start')}) must "
                              f"be an ISO date (YYYY-MM-DD) or empty, got {start!r}") from None
        recipients = tuple(config.get("health", "recipients")) or \
            tuple(config.get("smtp", "recipients"))
        return cls(recipients=recipients, daily_start=daily_start,
                   lookback_days=positive("lookback_days"),
                   daily_grace=timedelta(minutes=config.get("health", "daily_grace_minutes")),
                   feed_max_silence=timedelta(minutes=positive("feed_max_silence_minutes")))
