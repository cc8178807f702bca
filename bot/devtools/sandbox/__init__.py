"""``kmbot sandbox``: try the real bot in a browser, with a local stand-in for Slack.

The bot (the same HTTP app as ``kmbot serve`` and the same worker jobs) talks to the fake Slack
that the test suite uses; a web page shows that fake Slack as a member would see it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from bot.kernel.errors import CommandError
from bot.kernel.settings import Settings, default_database_url

__all__ = ["add_commands", "cmd_sandbox"]


def cmd_sandbox(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Run the bot against a local Slack stand-in and serve the page until interrupted."""
    from bot.devtools.sandbox.server import Sandbox

    scratch: tempfile.TemporaryDirectory[str] | None = None
    database_url = args.database or settings.database_url
    if not args.database and settings.database_url == default_database_url():
        # The stand-in forgets its messages when it stops, so a fresh store keeps the two in
        # step; an explicit DATABASE_URL (or --database) is used as given.
        scratch = tempfile.TemporaryDirectory(prefix="kmbot-sandbox-")
        database_url = f"sqlite:///{Path(scratch.name) / 'sandbox.sqlite3'}"
    sandbox = Sandbox(
        settings.with_(database_url=database_url),
        host=args.host,
        port=args.port,
        example=not args.no_example,
    )
    try:
        sandbox.start()
    except OSError as exc:
        if scratch is not None:
            scratch.cleanup()
        raise CommandError(
            f"Cannot listen on {args.host}:{args.port} ({exc.strerror or exc}). "
            f"Is something else using it? Try --port 3001."
        ) from None
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Outside the main thread (e.g. called from a test) Ctrl-C is not ours to catch.
        with contextlib.suppress(ValueError):
            previous[sig] = signal.signal(sig, stop)
    try:
        where = "a fresh SQLite database" if scratch else "the database you named"
        out.write(
            f"kmbot sandbox is running: open {sandbox.url}\n"
            f"  The real bot, a stand-in for Slack and {where}"
            f"{' with the example workshop loaded' if not args.no_example else ''}.\n"
            f"  Press Ctrl-C to stop.\n"
        )
        out.flush()
        while not stopping.wait(0.5):
            pass
        out.write("Stopping the sandbox.\n")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sandbox.stop()
        if scratch is not None:
            scratch.cleanup()
    return 0


def add_commands(subparsers: Any) -> None:
    """Add ``kmbot sandbox`` to the command line."""
    parser = subparsers.add_parser(
        "sandbox",
        help="try kmbot in your browser with a local stand-in for Slack (no Slack account)",
        description="Run the real bot against a local stand-in for Slack and open it in a "
        "browser: post wants and offers, see introductions, act as different "
        "members, and run the weekly jobs now.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=3000,
        help="port for the page (default 3000; 0 picks a free one)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    parser.add_argument(
        "--no-example",
        action="store_true",
        help="start with an empty marketplace instead of the example workshop",
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="use this database instead of a fresh temporary SQLite file",
    )
    parser.set_defaults(func=cmd_sandbox)
