"""The [report] configuration section, typed once (config.settings(ReportSettings))."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar


@dataclass(frozen=True)
class ReportSettings:
    SECTION: ClassVar[str] = "report"

    dir: Path  # the daily DAG writes <dir>/<day>.html
    base_url: str  # where <dir> is served; the digest links to <base_url>/<day>.html
    days: int  # the period a report covers, ending on its day
    top: int  # rules, serials and equipment shown in the "most" lists

    def path_for(self, day) -> Path:
        return self.dir / f"{day.isoformat()}.html"

    def url_for(self, day) -> str | None:
        return f"{self.base_url.rstrip('/')}/{day.isoformat()}.html" if self.base_url else None


@dataclass(frozen=True)
class StreamDefaults:
    """The one key of [stream] the report reads (the stream's own view is the stream
    box's): the threshold of equipment and models without one of their own."""
    SECTION: ClassVar[str] = "stream"

    default_threshold_c: float
