"""Logging for every entry point: one format, the level people asked for, no library chatter."""

from __future__ import annotations

import logging
import sys

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Libraries that speak at INFO about their own workings (Alembic lists its plugins on every start,
# APScheduler every job it adds); they are heard from at WARNING unless the level is DEBUG.
_CHATTY = ("alembic", "apscheduler")


def configure_logging(level: str) -> None:
    """Send log records at ``level`` and above to standard error (once per process)."""
    number = getattr(logging, level, logging.INFO)
    logging.basicConfig(
        level=number,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().setLevel(number)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(
            number if number <= logging.DEBUG else max(number, logging.WARNING)
        )
