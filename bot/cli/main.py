"""The ``kmbot`` command: serve Slack, run the worker, and work the marketplace offline.

This module builds the parser and runs a subcommand; the subcommands live beside it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.cli import admin, db, slack, worker, workshop
from bot.devtools import sandbox
from bot.kernel.errors import CommandError, KmbotError
from bot.kernel.logs import configure_logging
from bot.kernel.settings import ConfigError, Settings

logger = logging.getLogger(__name__)

Handler = Callable[[argparse.Namespace, Settings, TextIO], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="kmbot",
        description="The Wants & Offers Marketplace bot of the Local Authority KM Change Network.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Each module adds its subcommands; every handler has the signature of ``Handler``.
    db.add_commands(sub)  # db upgrade, db current
    workshop.add_commands(sub)  # import, matches, demo
    slack.add_commands(sub)  # serve, socket
    worker.add_commands(sub)  # worker
    admin.add_commands(sub)  # facilitator, stats, export
    sandbox.add_commands(sub)  # sandbox
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
        # The sandbox is for newcomers: its page address first, the bot's own records only when
        # asked for (KMBOT_LOG_LEVEL); the servers and jobs log their work at INFO.
        quiet = args.command == "sandbox"
        configure_logging(settings.log_level or ("WARNING" if quiet else "INFO"))
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
