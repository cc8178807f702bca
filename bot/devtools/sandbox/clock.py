"""Simulated time: jump to the next moment the worker has something to do, and do it.

The sandbox's clock runs at the real pace plus an offset. "Run next job" moves the offset on to
the next scheduled moment (a community's weekly nudge, Monday's digest, an expiry reminder or an
expiry) and runs every worker job at that moment, as ``kmbot worker`` would on its tick then.

The clock may start at a chosen instant instead of now (``start_at``): it then reads that
instant plus the real time elapsed since, plus the offset, so what the sandbox shows does not
depend on the day it runs (the tests pin it; ``KMBOT_SANDBOX_NOW`` pins ``kmbot sandbox``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.container import Container
from bot.kernel.clock import utcnow
from bot.services.nudges import next_slot
from bot.services.reminders import digest_slot
from bot.worker import Worker
from storage.models import CommunityOfPractice, Post, PostStatus

logger = logging.getLogger(__name__)

JOB_KINDS = ("nudge", "digest", "reminder", "expiry")


@dataclass(frozen=True)
class NextJob:
    """A moment the worker will have something to do."""

    kind: str  # one of JOB_KINDS
    at: datetime  # UTC
    label: str

    def as_json(self, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
        """For the page: ``when`` says "today" or "tomorrow" when it is (in ``zone``)."""
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "label": self.label,
            "when": _relative_when(self.at, now, zone),
        }


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %-d %b %Y, %H:%M")


def _relative_when(at: datetime, now: datetime, zone: ZoneInfo) -> str:
    """``today, 14:00``, ``tomorrow, 10:00`` or ``Tue 12 Jan 2027, 10:00``."""
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return f"today, {local:%H:%M}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow, {local:%H:%M}"
    return _when(at, zone)


def ahead_text(offset: timedelta) -> str:
    """How far the clock has been moved on, in the unit that reads best ("" for not at all)."""
    seconds = offset.total_seconds()
    if seconds < 30:
        return ""
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"+{minutes} minute{'' if minutes == 1 else 's'}"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"+{hours} hours"
    return f"+{round(seconds / 86400, 1):g} days"


class SimulatedClock:
    """The sandbox's clock: real time (or a chosen start and the real time elapsed since) plus
    however far the demonstration has jumped."""

    def __init__(
        self,
        timezone: str,
        *,
        start_at: datetime | None = None,
        elapsed: Callable[[], float] = time.monotonic,
    ) -> None:
        if start_at is not None and start_at.tzinfo is None:
            raise ValueError("start_at must be an aware datetime (give it a time zone)")
        self._container: Container | None = None
        self.offset = timedelta(0)
        self.start_at = start_at.astimezone(UTC) if start_at is not None else None
        self._elapsed = elapsed
        self._started = elapsed()
        self._lock = threading.Lock()
        self.zone = ZoneInfo(timezone)

    def attach(self, container: Container) -> None:
        """The bot this clock runs: build its container with ``clock=self.now`` first, so the
        services (cards' dates, expiry, answers) and the jobs read the same simulated time."""
        self._container = container

    @property
    def container(self) -> Container:
        if self._container is None:
            raise RuntimeError("the simulated clock is not attached to a bot yet")
        return self._container

    def now(self) -> datetime:
        """The simulated time, in UTC."""
        if self.start_at is None:
            return utcnow() + self.offset
        return self.start_at + timedelta(seconds=self._elapsed() - self._started) + self.offset

    def describe(self) -> dict[str, Any]:
        """The clock as the page shows it."""
        now = self.now()
        return {
            "now": now.isoformat(),
            "text": _when(now, self.zone),
            "days_ahead": round(self.offset.total_seconds() / 86400, 1),
            "ahead": ahead_text(self.offset),
        }

    # ------------------------------------------------------------ what is next
    def upcoming(self) -> list[NextJob]:
        """The next moment of each kind of job, soonest first."""
        now = self.now()
        found: list[NextJob] = []
        settings = self.container.settings
        with self.container.session_factory() as session:
            for community in session.scalars(
                select(CommunityOfPractice).where(CommunityOfPractice.paused.is_(False))
            ):
                at = next_slot(community, now)
                found.append(NextJob("nudge", at, f"Weekly nudge in #{community.name}"))
            at = digest_slot(settings, now) + timedelta(days=7)
            found.append(NextJob("digest", at, "Weekly digest in the marketplace"))
            soonest = session.scalar(
                select(Post.expires_at)
                .where(Post.status == PostStatus.OPEN, Post.reminded_at.is_(None))
                .order_by(Post.expires_at)
                .limit(1)
            )
            if soonest is not None:
                at = max(
                    soonest - timedelta(days=settings.reminder_days_before),
                    now + timedelta(minutes=1),
                )
                found.append(NextJob("reminder", at, "Expiry reminders"))
            soonest = session.scalar(
                select(Post.expires_at)
                .where(Post.status == PostStatus.OPEN, Post.reminded_at.is_not(None))
                .order_by(Post.expires_at)
                .limit(1)
            )
            if soonest is not None:
                found.append(
                    NextJob(
                        "expiry",
                        max(soonest, now + timedelta(minutes=1)),
                        "Expiring posts past their date",
                    )
                )
        found.sort(key=lambda j: (j.at, JOB_KINDS.index(j.kind)))
        # One entry per kind: the soonest.
        first: dict[str, NextJob] = {}
        for job in found:
            first.setdefault(job.kind, job)
        return list(first.values())

    def jobs(self) -> list[dict[str, Any]]:
        """The upcoming jobs for the page."""
        now = self.now()
        return [j.as_json(self.zone, now) for j in self.upcoming()]

    # ------------------------------------------------------------ running
    def run_next(self, kind: str | None = None) -> dict[str, Any]:
        """Jump to the next job (of ``kind``, if given) and run every job due then."""
        with self._lock:
            upcoming = self.upcoming()
            chosen = next((j for j in upcoming if kind in (None, j.kind)), None)
            if chosen is None:
                what = "scheduled job" if kind is None else f"{kind} job"
                return {"ok": False, "message": f"There is no {what} to run."}
            if chosen.at > self.now():
                self.offset += chosen.at - self.now()
            report = self.run_all(chosen.at)
            return {
                "ok": True,
                "ran": chosen.label,
                "at": _when(chosen.at, self.zone),
                "report": report,
                "clock": self.describe(),
            }

    def run_all(self, at: datetime) -> list[str]:
        """Run every worker job at ``at``, as ``kmbot worker`` would then; what each did."""
        # The worker itself, with its clock stopped at the moment we jumped to.
        report = Worker(self.container, clock=lambda: at).run_once()
        lines = self._nudge_lines(report.nudges)
        if report.digest:
            lines.append("Weekly digest posted in the marketplace.")
        if report.reminders:
            lines.append(f"{report.reminders} expiry reminder(s) sent by direct message.")
        if report.expired:
            lines.append(f"{report.expired} post(s) expired.")
        return self._finish(at, lines)

    def _nudge_lines(self, outcomes: list[Any]) -> list[str]:
        lines = []
        for outcome in outcomes:
            name = self._channel_name(outcome.community_id)
            if outcome.status == "sent":
                lines.append(f"Nudge sent to #{name}.")
            else:
                lines.append(f"No nudge for #{name}: {outcome.reason}.")
        return lines

    def _finish(self, at: datetime, lines: list[str]) -> list[str]:
        if not lines:
            lines.append("Nothing was due.")
        logger.info("Simulated worker run at %s: %s", at.isoformat(), " ".join(lines))
        return lines

    def _channel_name(self, community_id: int) -> str:
        with self.container.session_factory() as session:
            community = session.get(CommunityOfPractice, community_id)
            return community.name if community else str(community_id)
