"""``kmbot db``: bring the database schema up to date, or say which revision it is at."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from bot.kernel.settings import Settings


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Bring the database schema up to date."""
    from storage import db

    db.upgrade(settings.database_url, args.revision)
    engine = db.make_engine(settings.database_url)
    try:
        out.write(
            f"Database is at revision {db.current_revision(engine)} ({safe_url(settings)}).\n"
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


def safe_url(settings: Settings) -> str:
    """The database URL with its password hidden, fit to print."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def add_commands(subparsers: Any) -> None:
    """Add ``kmbot db upgrade|current`` to the command line."""
    dbp = subparsers.add_parser("db", help="database schema: upgrade, current")
    dbsub = dbp.add_subparsers(dest="db_command", metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="bring the schema up to date")
    up.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    up.set_defaults(func=cmd_db_upgrade)
    cur = dbsub.add_parser("current", help="show the schema revision")
    cur.set_defaults(func=cmd_db_current)
