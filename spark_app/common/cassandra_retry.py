"""Retrying a step of Cassandra work while a node stalls (a GC pause, an
overloaded or restarting node): bounded exponential backoff, each retry logged
with its reason. Only transient failures are retried (cassandra_session.
transient_failure): a refused login or a missing table fails at once. Every step
retried this way must be safe to run again (an upsert, a read)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from spark_app.common.cassandra_session import transient_failure

T = TypeVar("T")
log = logging.getLogger("fleetwatch.cassandra")


class CassandraStillFailing(RuntimeError):
    """A step still failed transiently after every attempt."""


@dataclass(frozen=True)
class CassandraRetry:
    attempts: int
    backoff_s: float
    backoff_max_s: float
    setting: str  # the configuration key of `attempts`, named when giving up
    sleep: Callable[[float], None] = time.sleep

    def call(self, what: str, step: Callable[[], T]) -> T:
        """step(), retried while it fails transiently; `what` names it in the log."""
        def before_sleep(state) -> None:
            log.warning("%s failed (attempt %d of %d: %s); retrying in %.1fs", what,
                        state.attempt_number, self.attempts,
                        describe_failure(state.outcome.exception()), state.next_action.sleep)

        retrying = Retrying(stop=stop_after_attempt(self.attempts),
                            wait=wait_exponential(multiplier=self.backoff_s,
                                                  max=self.backoff_max_s),
                            retry=retry_if_exception(transient_failure),
                            before_sleep=before_sleep, sleep=self.sleep, reraise=True)
        try:
            return retrying(step)
        except Exception as error:
            if self.attempts > 1 and transient_failure(error):
                raise CassandraStillFailing(
                    f"{what}: Cassandra still failing after {self.attempts} attempts "
                    f"({self.setting}): {describe_failure(error)}") from error
            raise


# One attempt: for the commands a person runs and watches, which report a failure at once.
ONCE = CassandraRetry(attempts=1, backoff_s=0.0, backoff_max_s=0.0, setting="")


def describe_failure(error: BaseException) -> str:
    """The error's kind and its most telling line."""
    # A Spark job's failure opens with "An error occurred while calling ...": the
    # Java exception's own line says more.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [""]
    telling = next((line for line in lines if "Exception:" in line), lines[0])
    return f"{type(error).__name__}: {telling}"[:500]
