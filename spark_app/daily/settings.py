"""The [daily] configuration section, typed once (config.settings(DailySettings))."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class DailySettings:
    SECTION: ClassVar[str] = "daily"

    horizon_days: int  # the pending faults of day D: those received D-H … D-1
    upsert_batch_size: int  # violations per upsert transaction
    block_rows: int  # faults per block of a pending generation
