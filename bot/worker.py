"""``kmbot worker``: the one scheduler process (nudges, reminders, expiry, digest, delivery)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from bot.kernel.settings import Settings

# Every `kmbot` command imports this module to add `worker`: the jobs' modules (SQLAlchemy,
# APScheduler, the marketplace) are imported when the worker runs, not on every command.
if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.container import Services
    from bot.outbox.delivery import Deliverer, DeliveryReport
    from bot.services.nudges import NudgeOutcome

logger = logging.getLogger(__name__)

TICK_SECONDS = 30.0  # how soon a facilitator's change (or a due slot) is acted on
DELIVER_SECONDS = 5.0
FRESHNESS_SECONDS = 3600.0


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


class Worker:
    """The worker's jobs, each safe to run twice and from two processes at once."""

    def __init__(self, services: Services, *, clock: Callable[[], datetime] | None = None) -> None:
        from bot.outbox.delivery import Deliverer, make_client

        self.services = services
        self.settings = services.settings
        self.clock = clock or services.clock
        if services.deliverer is None:
            client = make_client(self.settings.slack_bot_token, self.settings.slack_api_url)
            services.deliverer = Deliverer(client, services.session_factory)
        self.deliverer: Deliverer = services.deliverer

    def tick(self, report: WorkReport | None = None) -> WorkReport:
        """Run every community's due slot and this week's digest; re-reads the database each time,
        so a facilitator's change takes effect on the next tick."""
        from bot.services.marketplace import introduce_missed
        from bot.services.nudges import run_due_nudges
        from bot.services.reminders import send_weekly_digest

        report = report or WorkReport()
        now = self.clock()
        factory = self.services.session_factory
        report.nudges = run_due_nudges(factory, settings=self.settings, now=now)
        report.digest = send_weekly_digest(factory, settings=self.settings, now=now)
        report.missed_introductions = introduce_missed(
            factory, settings=self.settings, matcher=self.services.matcher, now=now
        )
        if any(o.outbox_id for o in report.nudges) or report.digest or report.missed_introductions:
            self.deliver(report)
        return report

    def freshness(self, report: WorkReport | None = None) -> WorkReport:
        """Expiry reminders, then expiry, then purging closed posts past the retention period."""
        from bot.services.privacy import purge_closed_posts
        from bot.services.reminders import expire_posts, send_expiry_reminders

        report = report or WorkReport()
        now = self.clock()
        factory = self.services.session_factory
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
        scheduler.add_job(
            self._job(self.tick),
            "interval",
            seconds=tick_seconds,
            id="nudges",
            name="nudges and digest",
            **common,
        )
        scheduler.add_job(
            self._job(self.deliver),
            "interval",
            seconds=deliver_seconds,
            id="deliver",
            name="outbox sweep",
            **common,
        )
        scheduler.add_job(
            self._job(self.freshness),
            "interval",
            seconds=freshness_seconds,
            id="freshness",
            name="expiry reminders and expiry",
            **common,
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


def describe(report: WorkReport) -> str:
    """A one-paragraph summary of a round of work, for the console."""
    sent = [o for o in report.nudges if o.status == "sent"]
    skipped = [o for o in report.nudges if o.status != "sent"]
    lines = [f"Nudges: {len(sent)} sent, {len(skipped)} skipped."]
    lines += [
        f"  skipped {o.channel_id} ({o.slot:%Y-%m-%d %H:%M} UTC): {o.reason}" for o in skipped
    ]
    lines.append(f"Expiry reminders: {report.reminders}; expired: {report.expired}.")
    lines.append(f"Weekly digest: {'owed now' if report.digest else 'not due'}.")
    if report.delivery is not None:
        d = report.delivery
        lines.append(
            f"Delivered: {d.sent + d.recovered}; failed (will retry): {d.failed}; "
            f"gave up: {d.dead}."
        )
    return "\n".join(lines) + "\n"


def cmd_worker(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Run the scheduler until SIGTERM or SIGINT (or, with --once, every job once)."""
    from bot.cli.main import CommandError
    from bot.container import build_services
    from bot.services.communities import ensure_builtin_prompts
    from storage.models import utcnow

    settings.require("SLACK_BOT_TOKEN")
    for name, value in (
        ("--tick-seconds", args.tick_seconds),
        ("--deliver-seconds", args.deliver_seconds),
    ):
        if value <= 0:
            raise CommandError(f"{name} must be more than 0.")
    # APScheduler says "Running job..." every few seconds at INFO: keep its warnings only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    services = build_services(settings)
    try:
        with services.session_factory.begin() as session:
            added = ensure_builtin_prompts(session)
        if added:
            logger.info("Loaded %d built-in nudge prompts", added)
        worker = Worker(services, clock=utcnow)
        if args.once:
            out.write(describe(worker.run_once()))
            return 0
        return _run_forever(worker, args, out)
    finally:
        services.close()


def _run_forever(worker: Worker, args: argparse.Namespace, out: TextIO) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("Received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler = worker.scheduler(
        tick_seconds=args.tick_seconds, deliver_seconds=args.deliver_seconds
    )
    scheduler.start()
    out.write(
        f"kmbot worker running: nudges every {args.tick_seconds:g}s, outbox every "
        f"{args.deliver_seconds:g}s, expiry hourly. Stop with Ctrl+C or SIGTERM.\n"
    )
    out.flush()
    try:
        stop.wait()
    finally:
        # Let running jobs finish their transaction rather than cutting them off mid-way.
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.write("kmbot worker stopped.\n")
    out.flush()
    return 0


def add_commands(subparsers: Any) -> None:
    """Add ``kmbot worker`` to the command line."""
    worker = subparsers.add_parser(
        "worker", help="run the scheduler: weekly nudges, expiry reminders, digest, delivery"
    )
    worker.add_argument(
        "--once",
        action="store_true",
        help="run every due job once, deliver, and exit (for cron and tests)",
    )
    worker.add_argument(
        "--tick-seconds",
        type=float,
        default=TICK_SECONDS,
        help=f"how often to look for due nudges (default {TICK_SECONDS:g})",
    )
    worker.add_argument(
        "--deliver-seconds",
        type=float,
        default=DELIVER_SECONDS,
        help=f"how often to sweep the outbox (default {DELIVER_SECONDS:g})",
    )
    worker.set_defaults(func=cmd_worker)
