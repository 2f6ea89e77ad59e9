"""Logging, configured once per process by the command line: modules log through
`logging.getLogger(__name__)` (progress, retries, diagnostics, on stderr);
commands print their results on stdout.

The level comes from --log-level, else -v (debug) / -q (warnings only), else
FLEETWATCH_LOG_LEVEL, else info."""

from __future__ import annotations

import argparse
import logging
import os
import sys

LEVELS = ("debug", "info", "warning", "error")
LEVEL_VARIABLE = "FLEETWATCH_LOG_LEVEL"
DEFAULT_LEVEL = "info"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Chatty libraries stay at warnings unless asked for debug (alembic logs each step of a
# migration at info); py4j, which logs every call into the JVM, stays there even then.
QUIET_LIBRARIES = ("cassandra", "alembic")
ALWAYS_QUIET = ("py4j",)
OUR_LOGGERS = ("spark_app", "bench", "rules", "schemas")


class LogLevelError(ValueError):
    """FLEETWATCH_LOG_LEVEL names no level."""


def add_logging_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--log-level", choices=LEVELS, type=str.lower,
                       help=f"what to log on stderr (default {LEVEL_VARIABLE} or "
                            f"{DEFAULT_LEVEL})")
    group.add_argument("-v", "--verbose", dest="log_level", action="store_const",
                       const="debug", help="log everything (--log-level debug)")
    group.add_argument("-q", "--quiet", dest="log_level", action="store_const",
                       const="warning", help="log only warnings and errors")


def chosen_level(option: str | None, environ=os.environ) -> str:
    if option:
        return option
    configured = environ.get(LEVEL_VARIABLE, "").strip().lower()
    if not configured:
        return DEFAULT_LEVEL
    if configured not in LEVELS:
        raise LogLevelError(f"{LEVEL_VARIABLE} must be one of {', '.join(LEVELS)}, "
                            f"got {environ[LEVEL_VARIABLE]!r}")
    return configured


def configure_logging(level: str, stream=None) -> None:
    """One handler on the root logger, writing to stderr (replacing any earlier one)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%S"))
    if level != "debug":
        handler.addFilter(_not_a_library_failure)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    for name in ALWAYS_QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)



def _not_a_library_failure(record: logging.LogRecord) -> bool:
    """Drops what a library logs with the exception it raises (the driver's "Error
    connecting to …" with its traceback): the command ends with one message
    saying what went wrong and what to do, which that would only bury."""
    return record.exc_info is None or record.name.split(".")[0] in OUR_LOGGERS
