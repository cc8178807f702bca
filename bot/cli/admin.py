"""Facilitator commands for ``kmbot``: facilitators, statistics, outputs and CSV exports."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any, TextIO

from bot.kernel.errors import CommandError, KmbotError
from bot.kernel.settings import Settings
from bot.reports import stats
from bot.services import audit
from bot.services.admin import facilitators

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")


def plain(text: str) -> str:
    """A message written for Slack, made readable in a terminal."""
    text = _MENTION.sub(r"\1", text).replace("*", "").replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _container(settings: Settings) -> Any:
    """Container with the configured facilitators made facilitators (as at app start)."""
    from bot.container import build_container

    container = build_container(settings)
    with container.session_factory.begin() as session:
        facilitators.bootstrap_facilitators(
            session, settings.facilitators, team_id=settings.slack_team_id
        )
    return container


def cmd_facilitator(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """kmbot facilitator add|remove|list [USER_ID]"""
    container = _container(settings)
    try:
        if args.action == "list":
            with container.session_factory() as session:
                members = facilitators.list_facilitators(session)
                if not members:
                    out.write(
                        "There are no facilitators yet. "
                        "Add one with `kmbot facilitator add USER_ID`.\n"
                    )
                for m in members:
                    council = m.council.name if m.council else "no council yet"
                    out.write(f"{m.slack_user_id or '-'}\t{m.name or ''}\t{council}\n")
            return 0
        if not args.user_id:
            raise CommandError(f"Give the Slack user id: kmbot facilitator {args.action} U0123ABCD")
        try:
            user_id = facilitators.parse_user(args.user_id)
            with container.session_factory.begin() as session:
                if args.action == "add":
                    facilitators.add_facilitator(
                        session, user_id, actor=audit.CLI_ACTOR, team_id=settings.slack_team_id
                    )
                else:
                    facilitators.remove_facilitator(
                        session, user_id, actor=audit.CLI_ACTOR, configured=settings.facilitators
                    )
        except KmbotError as exc:
            raise CommandError(plain(str(exc))) from None
        verb = "is now a facilitator" if args.action == "add" else "is no longer a facilitator"
        out.write(f"{user_id} {verb}.\n")
        return 0
    finally:
        container.close()


def cmd_stats(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """kmbot stats [--json]"""
    container = _container(settings)
    try:
        with container.session_factory() as session:
            found = stats.collect(session, now=container.clock())
    finally:
        container.close()
    _show(found.as_json() if args.json else stats.render(found, markdown=False), out)
    return 0


def _show(found: str | dict[str, Any], out: TextIO) -> None:
    """A report as the command prints it: plain text, or JSON (``--json``)."""
    if isinstance(found, str):
        out.write(found + "\n")
    else:
        json.dump(found, out, indent=2, ensure_ascii=False)
        out.write("\n")


# The marketplace's outputs
def cmd_outputs(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """kmbot outputs [quarter] [--json] [--csv FILE] [--chart FILE]"""
    from bot.reports import outputs
    from bot.reports.chart import outputs_png
    from bot.reports.export import outputs_csv

    container = _container(settings)
    try:
        now = container.clock()
        try:
            quarter = outputs.Quarter.parse(" ".join(args.quarter), now=now)
        except KmbotError as exc:
            raise CommandError(plain(str(exc))) from None
        with container.session_factory() as session:
            found = outputs.collect_outputs(session, quarter, now=now)
    finally:
        container.close()
    for wanted, content in ((args.csv, outputs_csv), (args.chart, outputs_png)):
        if wanted:
            try:
                Path(wanted).write_bytes(content(found))
            except OSError as exc:
                raise CommandError(f"Cannot write {wanted}: {exc.strerror}") from None
    _show(found.as_json() if args.json else outputs.render(found, markdown=False), out)
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """kmbot export --out DIR"""
    from bot.reports.export import export_to

    folder = Path(args.out)
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"{folder} is a file; give a folder for the CSV files.")
    container = _container(settings)
    try:
        with container.session_factory.begin() as session:
            try:
                written = export_to(session, folder, now=container.clock())
            except OSError as exc:
                raise CommandError(f"Cannot write to {folder}: {exc.strerror}") from None
            audit.record(
                session,
                audit.CLI_ACTOR,
                "export",
                str(folder)[:120],
                before=None,
                after={p.name: n for p, n in written.items()},
            )
    finally:
        container.close()
    for path, rows in written.items():
        out.write(f"{path}: {rows} row(s)\n")
    return 0


def add_commands(subparsers: Any) -> None:
    """Add facilitator, stats and export to the ``kmbot`` parser."""
    fac = subparsers.add_parser("facilitator", help="the network's facilitators: add, remove, list")
    fac.add_argument("action", choices=("add", "remove", "list"))
    fac.add_argument("user_id", nargs="?", help="Slack user id, e.g. U0123ABCD")
    fac.set_defaults(func=cmd_facilitator)

    st = subparsers.add_parser("stats", help="the marketplace in numbers")
    st.add_argument("--json", action="store_true", help="print JSON")
    st.set_defaults(func=cmd_stats)
    # The marketplace's outputs
    op = subparsers.add_parser(
        "outputs", help="a quarter's outputs: top areas, gaps by region, outcomes"
    )
    op.add_argument("quarter", nargs="*", help="e.g. Q3 2026 or 2026-Q3 (default: this one)")
    op.add_argument("--json", action="store_true", help="print JSON")
    op.add_argument("--csv", metavar="FILE", help="also write the outputs as CSV")
    op.add_argument("--chart", metavar="FILE", help="also write the chart as PNG")
    op.set_defaults(func=cmd_outputs)

    ex = subparsers.add_parser(
        "export",
        help="write posts, introductions, outcomes, councils, sessions and outputs as CSV files",
    )
    ex.add_argument("--out", required=True, metavar="DIR", help="folder for the CSV files")
    ex.set_defaults(func=cmd_export)
