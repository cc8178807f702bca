"""``kmbot worker``: the one scheduler process (nudges, reminders, expiry, digest, delivery)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import Any, TextIO

from bot.kernel.errors import CommandError
from bot.kernel.settings import Settings
from bot.worker import DELIVER_SECONDS, TICK_SECONDS, Worker, WorkReport

logger = logging.getLogger(__name__)


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
    from bot.container import build_container
    from bot.services.communities import ensure_builtin_prompts
    from storage.models import utcnow

    settings.require("SLACK_BOT_TOKEN")
    for name, value in (
        ("--tick-seconds", args.tick_seconds),
        ("--deliver-seconds", args.deliver_seconds),
    ):
        if value <= 0:
            raise CommandError(f"{name} must be more than 0.")
    container = build_container(settings)
    try:
        with container.session_factory.begin() as session:
            added = ensure_builtin_prompts(session)
        if added:
            logger.info("Loaded %d built-in nudge prompts", added)
        worker = Worker(container, clock=utcnow)
        if args.once:
            out.write(describe(worker.run_once()))
            return 0
        return _run_forever(worker, args, out)
    finally:
        container.close()


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
