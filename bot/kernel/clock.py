"""The one clock: everything that reads the time takes a ``Clock`` (tests pin it).

Times are kept in UTC. People read them in the UK's time (GMT in winter, BST in summer):
``uk_time`` turns a stored instant into the wall-clock time they would see.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

# The zone dates and times are shown to people in: the network is in the UK.
UK_TIMEZONE = "Europe/London"


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def uk_time(when: datetime, timezone: str = UK_TIMEZONE) -> datetime:
    """``when`` as a clock in the UK shows it (a naive ``when`` is taken to be UTC).

    23:30 UTC on 30 June is 00:30 on 1 July in London; 23:30 UTC on 30 January is still
    30 January.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(ZoneInfo(timezone))


def uk_midnight(day: date, timezone: str = UK_TIMEZONE) -> datetime:
    """The instant (in UTC) a UK day begins: 1 July starts at 23:00 UTC on 30 June (BST)."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
