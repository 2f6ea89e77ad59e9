"""Progress of long work (ingest, a range of days, a backfill, the bench), drawn
by tqdm: a bar with percentage and ETA on a terminal; on anything else (a
pipe, an Airflow task log) a plain line logged every `interval_s` seconds,
with the same figures. Nothing at all below the info log level."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import ExitStack

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

_KNOWN_TOTAL = "{desc}: {percentage:.0f}% {n_fmt}{bytes}/{total_fmt}{bytes} " \
               "[{elapsed}<{remaining}, {rate_fmt}]{postfix}"
_UNKNOWN_TOTAL = "{desc}: {n_fmt}{unit_after} [{elapsed}, {rate_fmt}]{postfix}"


class Progress:
    """`with Progress("ingest", total=size, unit="B") as progress: progress.update(n)`.

    `unit="B"` counts bytes (shown in kB, MB, …); `note(text)` sets what
    follows the figures (counts, the current item). `total=None`: no
    percentage nor ETA, only counts and rate."""

    def __init__(self, description: str, total: float | None, unit: str = "it", *,
                 logger: logging.Logger | None = None, interval_s: float = 5.0, stream=None):
        self.description = description
        self.total = total
        self.unit = unit
        self.log = logger or logging.getLogger(__name__)
        self.interval_s = interval_s
        self.stream = stream or sys.stderr
        self.count = 0
        self.text = ""
        self._bar: tqdm | None = None
        self._exit = ExitStack()
        self._started = self._last = 0.0
        self._logged = 0  # the count of the last line logged

    def __enter__(self) -> Progress:
        self._started = self._last = time.monotonic()
        shown = self.log.isEnabledFor(logging.INFO)
        if shown and _is_terminal(self.stream):
            # log records printed meanwhile go above the bar instead of through it
            self._exit.enter_context(logging_redirect_tqdm())
            self._bar = self._exit.enter_context(tqdm(
                total=self.total, desc=self.description, unit=self.unit, file=self.stream,
                unit_scale=self.unit == "B", unit_divisor=1000,
                dynamic_ncols=True, mininterval=0.2))
        return self

    def update(self, amount: float = 1) -> None:
        self.count += amount
        if self._bar is not None:
            self._bar.update(amount)
            return
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._log_line(now)

    def _log_line(self, now: float) -> None:
        self._last, self._logged = now, self.count
        self.log.info("%s", self.line(now - self._started))

    def note(self, text: str) -> None:
        """What the figures are followed by, from the next update on."""
        self.text = text
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def write(self, text: str, out=None) -> None:
        """A result line on stdout (or `out`), above the bar when there is one."""
        out = out or sys.stdout
        if self._bar is not None:
            self._bar.write(text, file=out)
        else:
            print(text, file=out, flush=True)

    def line(self, elapsed: float) -> str:
        """The plain progress line, as tqdm formats it without a bar."""
        in_bytes = self.unit == "B"
        return tqdm.format_meter(
            self.count, self.total, elapsed, prefix=self.description, unit=self.unit,
            unit_scale=in_bytes,
            postfix=self.text or None,
            bar_format=(_KNOWN_TOTAL if self.total else _UNKNOWN_TOTAL)
            .replace("{bytes}", "B" if in_bytes else "")
            .replace("{unit_after}", "B" if in_bytes else f" {self.unit}"))

    def __exit__(self, exc_type, *_) -> None:
        self._exit.close()
        if self._bar is None and exc_type is None and self.count != self._logged \
                and self.log.isEnabledFor(logging.INFO):
            self._log_line(time.monotonic())  # where it ended, for the log


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False
