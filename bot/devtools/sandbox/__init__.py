"""``kmbot sandbox``: try the real bot in a browser, with a local stand-in for Slack.

The bot (the same HTTP app as ``kmbot serve`` and the same worker jobs) talks to the fake Slack
that the test suite uses; a web page shows that fake Slack as a member would see it.

The sandbox never touches real data unless told to in so many words: it always starts with a
fresh temporary SQLite database (``DATABASE_URL`` is ignored), refuses a server database given
with ``--database`` unless ``--allow-server-database`` is added, and listens on this machine only
unless ``--allow-remote`` is added, because anyone who reaches its page can act as any member,
a facilitator included.

``KMBOT_SANDBOX_NOW`` (an ISO 8601 date and time; without a zone, in the network's zone) starts
the sandbox's clock at that instant instead of now. It is for tests, and is read only here.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.kernel.errors import CommandError
from bot.kernel.settings import Settings, normalise_database_url

__all__ = ["add_commands", "cmd_sandbox", "is_loopback", "sandbox_start"]

NOW_VARIABLE = "KMBOT_SANDBOX_NOW"


def is_loopback(host: str) -> bool:
    """Whether ``host`` can be reached from this machine only."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def sandbox_start(settings: Settings, environ: Mapping[str, str] | None = None) -> datetime | None:
    """The instant ``KMBOT_SANDBOX_NOW`` starts the sandbox's clock at, if it is set."""
    raw = (os.environ if environ is None else environ).get(NOW_VARIABLE, "").strip()
    if not raw:
        return None
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(
            f"{NOW_VARIABLE} must be a date and time such as 2027-01-07T09:55 "
            f"(optionally with a zone, e.g. 2027-01-07T09:55+00:00), not {raw!r}."
        ) from None
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo(settings.timezone))
    return start


def _database(args: argparse.Namespace) -> str | None:
    """The database named with --database, checked; None for a fresh temporary one."""
    if not args.database:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = normalise_database_url(args.database.strip())
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CommandError(
            "--database must be a database URL such as sqlite:///sandbox.sqlite3."
        ) from None
    backend = parsed.get_backend_name()
    if backend != "sqlite" and not args.allow_server_database:
        try:  # as typed, without its password
            shown = make_url(args.database.strip()).render_as_string(hide_password=True)
        except ArgumentError:
            shown = parsed.render_as_string(hide_password=True)
        kind = "PostgreSQL" if backend == "postgresql" else backend
        raise CommandError(
            f"--database names a {kind} database ({shown}). The sandbox loads the example "
            "workshop into its database, queues messages in its outbox and moves its clock on "
            "to run the weekly jobs, so it must never be given real data. Leave out --database "
            "for a fresh temporary database, name a SQLite file, or add --allow-server-database "
            "if that database is a disposable one."
        )
    return url


def cmd_sandbox(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Run the bot against a local Slack stand-in and serve the page until interrupted."""
    from bot.devtools.sandbox.server import Sandbox

    if not is_loopback(args.host) and not args.allow_remote:
        raise CommandError(
            f"--host {args.host} would let other computers reach the sandbox's page, and anyone "
            "who reaches it can act as any member, a facilitator included: there is no sign-in. "
            "Leave out --host (this machine only), or add --allow-remote if you mean it."
        )
    database_url = _database(args)
    start_at = sandbox_start(settings)
    port = settings.port if args.port is None else args.port
    ignored = bool(os.environ.get("DATABASE_URL", "").strip())
    scratch: tempfile.TemporaryDirectory[str] | None = None
    if database_url is None:
        # Always a fresh store: the stand-in forgets its messages when it stops, so the two stay
        # in step, and nothing here can reach a real database by accident.
        scratch = tempfile.TemporaryDirectory(prefix="kmbot-sandbox-")
        database_url = f"sqlite:///{Path(scratch.name) / 'sandbox.sqlite3'}"
    sandbox = Sandbox(
        settings.with_(database_url=database_url),
        host=args.host,
        port=port,
        example=not args.no_example,
        start_at=start_at,
    )
    try:
        sandbox.start()
    except OSError as exc:
        if scratch is not None:
            scratch.cleanup()
        hint = (
            "Try --host 127.0.0.1."
            if isinstance(exc, socket.gaierror)  # an address it cannot listen on (e.g. IPv6)
            else f"Is something else using it? Try --port {port + 1 if port else 3001}."
        )
        raise CommandError(
            f"Cannot listen on {args.host}:{port} ({exc.strerror or exc}). {hint}"
        ) from None
    except BaseException:
        if scratch is not None:
            scratch.cleanup()
        raise
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
        lines = [
            f"kmbot sandbox is running: open {sandbox.url}",
            f"  The real bot, a stand-in for Slack and {where}"
            f"{' with the example workshop loaded' if not args.no_example else ''}.",
        ]
        if ignored:
            lines.append(
                "  DATABASE_URL is set but the sandbox ignores it: "
                + (
                    "it uses the database named with --database."
                    if args.database
                    else "it always starts with a fresh temporary database, so it never "
                    "touches real data (--database URL names another)."
                )
            )
        if not is_loopback(args.host):
            lines.append(
                f"  Listening on {args.host}: anyone who can reach this address can act as any "
                "member, a facilitator included."
            )
        if start_at is not None:
            lines.append(f"  The sandbox's clock started at {start_at.isoformat()}.")
        lines.append("  Press Ctrl-C to stop.")
        out.write("\n".join(lines) + "\n")
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
        "members, and run the weekly jobs now. It never touches real data: each run starts "
        "with a fresh temporary SQLite database (DATABASE_URL is ignored), and the page is "
        "served to this machine only.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port for the page (default: $PORT, or 3000; 0 picks a free one)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; any other address "
        "needs --allow-remote)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other computers can reach; anyone who reaches the page can act "
        "as any member, a facilitator included",
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
        help="use this SQLite database instead of a fresh temporary one (DATABASE_URL is "
        "always ignored)",
    )
    parser.add_argument(
        "--allow-server-database",
        action="store_true",
        help="allow --database to name a server database such as PostgreSQL; only ever a "
        "disposable one, as the sandbox writes to it and runs the weekly jobs",
    )
    parser.set_defaults(func=cmd_sandbox)
