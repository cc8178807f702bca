"""The ``kmbot`` command: serve Slack, run the worker, and work the marketplace offline."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.kernel.data import EXAMPLE_WORKSHOP
from bot.kernel.errors import KmbotError
from bot.kernel.settings import ConfigError, Settings
from bot.services.workshop_csv import RowProblem

logger = logging.getLogger(__name__)


class CommandError(Exception):
    """A command-line mistake; the message is shown without a traceback."""


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("alembic.runtime.migration",):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _services(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.container import build_services

    return build_services(settings)


# ---------------------------------------------------------------- db


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Bring the database schema up to date."""
    from storage import db

    db.upgrade(settings.database_url, args.revision)
    engine = db.make_engine(settings.database_url)
    try:
        out.write(
            f"Database is at revision {db.current_revision(engine)} ({_safe_url(settings)}).\n"
        )
    finally:
        engine.dispose()
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Say which schema revision the database is at."""
    from storage import db

    engine = db.make_engine(settings.database_url)
    try:
        rev = db.current_revision(engine)
    finally:
        engine.dispose()
    head = db.head_revision()
    state = "up to date" if rev == head else f"behind (newest is {head}; run `kmbot db upgrade`)"
    out.write(f"Revision {rev or 'none'}: {state}.\n")
    return 0


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


# ---------------------------------------------------------------- import / matches / demo


def _read_workshop(path: Path, max_text: int, label: str):  # type: ignore[no-untyped-def]
    from bot.cli.progress import ProgressBar
    from bot.services.workshop_csv import WorkshopFormatError, parse_workshop

    if not path.exists():
        raise CommandError(f"No such file: {path}")
    if path.is_dir():
        raise CommandError(f"{path} is a folder; give the workshop's CSV file.")
    size = path.stat().st_size
    # Rough row count for the bar: about 120 bytes a row in flip-chart CSVs.
    bar = ProgressBar(max(size // 120, 1), label)
    try:
        parsed = parse_workshop(path, max_text=max_text, on_row=bar.update)
    except WorkshopFormatError as exc:
        raise CommandError(f"{path}: {exc}") from None
    finally:
        bar.close()
    return parsed


def _import_file(
    path: Path, settings: Settings, out: TextIO, *, dry_run: bool, quiet: bool = False
) -> int:
    from bot.cli.progress import ProgressBar
    from bot.services.workshop_import import import_workshop

    parsed = _read_workshop(path, settings.max_post_length, "Reading")
    if parsed.problems:
        return _report_problems(path, parsed.problems)
    services = _services(settings)
    try:
        bar = ProgressBar(len(parsed.rows), "Importing")
        with services.session_factory() as session:
            try:
                summary = import_workshop(
                    session,
                    parsed,
                    services.directory,
                    expiry_days=settings.expiry_days,
                    on_row=bar.update,
                )
            finally:
                bar.close()
            if summary.problems or dry_run:
                session.rollback()
            else:
                session.commit()
    finally:
        services.close()
    if summary.problems:
        return _report_problems(path, summary.problems)
    if quiet:
        return 0
    verb = "Would add" if dry_run else "Added"
    out.write(
        f"{verb} {summary.added} post(s) from {path.name}: {summary.added_wants} want(s), "
        f"{summary.added_offers} offer(s).\n"
    )
    if summary.already_imported:
        out.write(f"Already imported, skipped: {summary.already_imported}.\n")
    if summary.duplicates_in_file:
        out.write(f"Repeated rows in the file, counted once: {summary.duplicates_in_file}.\n")
    if summary.new_members:
        out.write(f"New members: {summary.new_members}.\n")
    if summary.new_councils:
        out.write(
            "Councils not in the reference list, added as new: "
            + ", ".join(summary.new_councils)
            + ".\n"
        )
    if dry_run:
        out.write("Dry run: nothing was saved.\n")
    else:
        out.write("Run `kmbot matches` to see the introductions the bot would make.\n")
    return 0


def _report_problems(path: Path, problems: Sequence[RowProblem]) -> int:
    err = sys.stderr
    lines = {p.line for p in problems}
    err.write(f"{path}: {len(lines)} row(s) cannot be imported, so nothing was imported.\n")
    for problem in problems[:200]:
        err.write(f"  {problem.reason}\n")
    if len(problems) > 200:
        err.write(f"  … and {len(problems) - 200} more.\n")
    err.write("Correct the file and import it again.\n")
    return 1


def cmd_import(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Import a workshop CSV file."""
    return _import_file(Path(args.file), settings, out, dry_run=args.dry_run)


def _matches(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.services.marketplace import proposed_introductions

    services = _services(settings)
    try:
        with services.session_factory() as session:
            found = proposed_introductions(session, services.matcher)
            # Read what the table needs before the session closes.
            rows = [(m, m.as_json(), m.want.council.name, m.offer.council.name) for m in found]
    finally:
        services.close()
    return rows


def print_matches_table(rows: list, out: TextIO) -> None:  # type: ignore[type-arg]
    """A readable table of proposed introductions."""
    if not rows:
        out.write("No introductions to make: no open want and offer match strongly enough.\n")
        return
    width = max(60, min(shutil.get_terminal_size((100, 20)).columns, 140))
    col = (width - 10) // 2
    out.write(f"{'Score':>5}  {'Want':<{col}} {'Offer':<{col}}\n")
    out.write(f"{'-' * 5}  {'-' * (col - 1)} {'-' * (col - 1)}\n")
    for match, data, want_council, offer_council in rows:
        left = textwrap.wrap(
            f"#{data['want']['id']} {want_council}: {data['want']['text']}", col - 1
        )
        right = textwrap.wrap(
            f"#{data['offer']['id']} {offer_council}: {data['offer']['text']}", col - 1
        )
        for i in range(max(len(left), len(right))):
            score = str(match.score) if i == 0 else ""
            a = left[i] if i < len(left) else ""
            b = right[i] if i < len(right) else ""
            out.write(f"{score:>5}  {a:<{col}} {b:<{col}}\n".rstrip() + "\n")
        if match.reasons:
            out.write(" " * 7 + "Why: " + ", ".join(match.reasons) + "\n")
        out.write("\n")
    out.write(f"{len(rows)} introduction(s).\n")


def cmd_matches(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Show the introductions the bot would make for the open posts."""
    rows = _matches(settings)
    if args.json:
        json.dump([data for _m, data, _w, _o in rows], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        print_matches_table(rows, out)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Load the bundled example workshop and show the introductions the bot would make."""
    out.write(
        f"Loading the example workshop ({EXAMPLE_WORKSHOP.name}) into {_safe_url(settings)}\n\n"
    )
    code = _import_file(EXAMPLE_WORKSHOP, settings, out, dry_run=False)
    if code:
        return code
    out.write("\nThe introductions kmbot would make:\n\n")
    print_matches_table(_matches(settings), out)
    return 0


# ---------------------------------------------------------------- Slack


def cmd_serve(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Serve Slack's HTTP requests with a threaded WSGI server (gunicorn runs it in production)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from bot.app import wsgi_from_env

    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    port = args.port or settings.port
    web = wsgi_from_env()

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *a: object) -> None:  # noqa: A002
            logger.debug("%s " + format, self.address_string(), *a)

    httpd = make_server(args.host, port, web, server_class=Server, handler_class=QuietHandler)
    out.write(
        f"kmbot is serving Slack on http://{args.host}:{httpd.server_port}/slack/events "
        f"(health: /healthz)\n"
    )
    out.flush()
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
        web.services.close()
    return 0


def cmd_socket(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Connect to Slack in Socket Mode: for councils that cannot expose a public URL."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app, start_background
    from bot.container import build_services

    settings.require("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN")
    services = build_services(settings)
    app = create_app(settings, services)
    start_background(services)
    out.write("kmbot is connecting to Slack in Socket Mode…\n")
    out.flush()
    try:
        SocketModeHandler(app, settings.slack_app_token).start()
    finally:
        services.close()
    return 0


# ---------------------------------------------------------------- parser


Handler = Callable[[argparse.Namespace, Settings, TextIO], int]

# Modules exposing ``add_commands(subparsers)``; each handler has the signature of ``Handler``.
COMMAND_MODULES: tuple[str, ...] = ("bot.worker", "bot.cli.admin", "bot.devtools.sandbox")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="kmbot",
        description="The Wants & Offers Marketplace bot of the Local Authority KM Change Network.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    dbp = sub.add_parser("db", help="database schema: upgrade, current")
    dbsub = dbp.add_subparsers(dest="db_command", metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="bring the schema up to date")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    up.set_defaults(func=cmd_db_upgrade)
    cur = dbsub.add_parser("current", help="show the schema revision")
    cur.set_defaults(func=cmd_db_current)

    imp = sub.add_parser("import", help="import a workshop's wants and offers from a CSV file")
    imp.add_argument("file", help="CSV with header council,name,email,kind,text")
    imp.add_argument("--dry-run", action="store_true", help="check and report; save nothing")
    imp.set_defaults(func=cmd_import)

    mat = sub.add_parser("matches", help="show the introductions the bot would make")
    mat.add_argument("--json", action="store_true", help="print JSON (the interface contract)")
    mat.set_defaults(func=cmd_matches)

    demo = sub.add_parser("demo", help="load the example workshop and show its introductions")
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="serve Slack over HTTP (POST /slack/events, GET /healthz)")
    serve.add_argument("--port", type=int, default=None, help="port (default: $PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.set_defaults(func=cmd_serve)

    sock = sub.add_parser("socket", help="connect to Slack in Socket Mode (no public URL needed)")
    sock.set_defaults(func=cmd_socket)

    # Feature modules add their own subcommands (worker, admin, sandbox…).
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the ``kmbot`` console command."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        sub = getattr(args, "command", None)
        if sub == "db":
            parser.parse_args(["db", "--help"])
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env()
        _configure_logging(settings.log_level)
        return func(args, settings, out)
    except (CommandError, ConfigError, KmbotError) as exc:
        sys.stderr.write(f"kmbot: {exc}\n")
        return 2
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        sys.stderr.write(
            f"kmbot: Slack refused the request: {error or exc}. Check the tokens "
            "(SLACK_BOT_TOKEN, SLACK_APP_TOKEN) and the app's set-up.\n"
        )
        return 2
    except OperationalError as exc:
        sys.stderr.write(f"kmbot: cannot use the database: {exc.orig}\n")
        return 2
    except SQLAlchemyError as exc:
        logger.debug("database error", exc_info=True)
        sys.stderr.write(f"kmbot: database error: {exc.__class__.__name__}: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
    except BrokenPipeError:
        return 0
