"""The worker's jobs (nudges, reminders, expiry, digest, delivery), run by ``kmbot worker``.

The ``kmbot worker`` command itself is in ``bot.cli.worker``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

# Every `kmbot` command imports this module (through bot.cli.worker) to add `worker`: the jobs'
# modules (SQLAlchemy, APScheduler, the marketplace) are imported when the worker runs, not on
# every command.
if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.container import Container
    from bot.outbox.delivery import Deliverer, DeliveryReport
    from bot.services.followups import FollowUpRun
    from bot.services.nudges import NudgeOutcome

logger = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # how soon a facilitator's change (or a due slot) is acted on
DELIVER_SECONDS = 5.0
FRESHNESS_SECONDS = 3600.0
SESSION_SECONDS = 10.0  # how late a live session's outputs may come after its end


@dataclass
class WorkReport:
    """What one round of the worker's jobs did."""

    nudges: list[NudgeOutcome] = field(default_factory=list)
    reminders: int = 0
    expired: int = 0
    digest: bool = False
    missed_introductions: int = 0
    purged: int = 0
    delivery: DeliveryReport | None = None
    sessions_ended: int = 0  # live marketplace sessions closed by the timer
    # Follow-ups and away
    follow_ups: FollowUpRun | None = None
    released_introductions: int = 0  # held while someone was away, made on their return
    dropped_introductions: int = 0  # held, but a post closed meanwhile: never made


class Worker:
    """The worker's jobs, each safe to run twice and from two processes at once."""

    def __init__(
        self, container: Container, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.container = container
        self.settings = container.settings
        self.clock = clock or container.clock

    @property
    def deliverer(self) -> Deliverer:
        """The container's outbox deliverer (read each time: tests swap it)."""
        return self.container.deliverer

    def tick(self, report: WorkReport | None = None) -> WorkReport:
        """Run every community's due slot and this week's digest; re-reads the database each time,
        so a facilitator's change takes effect on the next tick."""
        from bot.services.introductions import introduce_missed
        from bot.services.nudges import run_due_nudges
        from bot.services.reminders import send_weekly_digest

        report = report or WorkReport()
        now = self.clock()
        factory = self.container.session_factory
        report.nudges = run_due_nudges(factory, settings=self.settings, now=now)
        report.digest = send_weekly_digest(factory, settings=self.settings, now=now)
        report.missed_introductions = introduce_missed(
            factory, settings=self.settings, matcher=self.container.live_index, now=now
        )
        if any(o.outbox_id for o in report.nudges) or report.digest or report.missed_introductions:
            self.deliver(report)
        return report

    # Live marketplace sessions
    def sessions(self, report: WorkReport | None = None) -> WorkReport:
        """End every live marketplace session whose time is up: its outputs and DMs are owed."""
        from bot.services.sessions import end_due_sessions

        report = report or WorkReport()
        report.sessions_ended = end_due_sessions(self.container.session_factory, now=self.clock())
        if report.sessions_ended:
            self.deliver(report)
        return report

    # Follow-ups and away
    def follow_ups(self, report: WorkReport | None = None) -> WorkReport:
        """Make the introductions held for members now back, then owe the follow-ups due."""
        from bot.services.away import release_returned
        from bot.services.followups import send_follow_ups

        report = report or WorkReport()
        now = self.clock()
        factory = self.container.session_factory
        try:
            release = release_returned(factory, settings=self.settings, now=now)
        except Exception:  # held introductions never hold up the follow-ups: the next run retries
            logger.exception("Releasing held introductions failed")
        else:
            report.released_introductions = release.made
            report.dropped_introductions = release.dropped
        report.follow_ups = send_follow_ups(factory, settings=self.settings, now=now)
        if report.released_introductions or report.follow_ups.messages:
            self.deliver(report)
        return report

    def freshness(self, report: WorkReport | None = None) -> WorkReport:
        """Expiry reminders, then expiry, then purging closed posts past the retention period."""
        from bot.services.reminders import expire_posts, send_expiry_reminders
        from bot.services.retention import purge_closed_posts

        report = report or WorkReport()
        now = self.clock()
        factory = self.container.session_factory
        report.reminders = send_expiry_reminders(factory, settings=self.settings, now=now)
        report.expired = expire_posts(factory, settings=self.settings, now=now)
        report.purged = purge_closed_posts(factory, settings=self.settings, now=now)
        if report.reminders or report.expired:
            self.deliver(report)
        return report

    def deliver(self, report: WorkReport | None = None) -> WorkReport:
        """Sweep the outbox: everything owed to Slack, whoever owed it, retried until sent."""
        report = report or WorkReport()
        report.delivery = self.deliverer.deliver_due()
        return report

    def run_once(self) -> WorkReport:
        """Every job once, then deliver: for tests and cron."""
        report = WorkReport()
        self.freshness(report)
        self.tick(report)
        self.sessions(report)
        self.follow_ups(report)
        self.deliver(report)
        return report

    def scheduler(
        self,
        *,
        tick_seconds: float = TICK_SECONDS,
        deliver_seconds: float = DELIVER_SECONDS,
        freshness_seconds: float = FRESHNESS_SECONDS,
    ) -> BackgroundScheduler:
        """An APScheduler with the worker's jobs, each starting at once and never overlapping."""
        from apscheduler.schedulers.background import BackgroundScheduler

        scheduler = BackgroundScheduler(timezone=self.settings.timezone)
        start = datetime.now(scheduler.timezone)
        common: dict[str, Any] = {
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": 60,
            "next_run_time": start,
        }
        jobs: tuple[tuple[Callable[[], WorkReport], float, str, str], ...] = (
            (self.tick, tick_seconds, "nudges", "nudges and digest"),
            (self.deliver, deliver_seconds, "deliver", "outbox sweep"),
            (self.sessions, SESSION_SECONDS, "sessions", "live marketplace sessions' timers"),
            (
                self.follow_ups,
                freshness_seconds,
                "follow_ups",
                "introductions held while away, and follow-ups",
            ),
            (self.freshness, freshness_seconds, "freshness", "expiry reminders and expiry"),
        )
        for step, seconds, job_id, name in jobs:
            scheduler.add_job(
                self._job(step), "interval", seconds=seconds, id=job_id, name=name, **common
            )
        return scheduler

    @staticmethod
    def _job(step: Callable[[], WorkReport]) -> Callable[[], None]:
        def run() -> None:
            try:
                step()
            except Exception:  # the next run tries again; say what went wrong meanwhile
                logger.exception("Worker job %s failed", step.__name__)

        run.__name__ = step.__name__
        return run
