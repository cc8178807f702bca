"""Working the marketplace offline: ``kmbot import``, ``kmbot matches`` and ``kmbot demo``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.cli.db import safe_url
from bot.kernel.data import EXAMPLE_WORKSHOP
from bot.kernel.errors import CommandError
from bot.kernel.settings import Settings
from bot.services.workshop_csv import RowProblem


def _container(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.container import build_container

    return build_container(settings)


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
    container = _container(settings)
    try:
        bar = ProgressBar(len(parsed.rows), "Importing")
        with container.session_factory() as session:
            try:
                summary = import_workshop(
                    session,
                    parsed,
                    container.directory,
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
        container.close()
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
    from bot.services.introductions import proposed_introductions

    container = _container(settings)
    try:
        with container.session_factory() as session:
            found = proposed_introductions(session, container.live_index)
            # Read what the table needs before the session closes.
            rows = [(m, m.as_json(), m.want.council.name, m.offer.council.name) for m in found]
    finally:
        container.close()
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
    """Show the introductions the bot would make for the open posts (or, with --explain, why
    one want and one offer would or would not be introduced)."""
    if args.explain:
        return _explain(settings, args.explain, out)
    rows = _matches(settings)
    if args.json:
        json.dump([data for _m, data, _w, _o in rows], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        print_matches_table(rows, out)
    return 0


def _explain(settings: Settings, posts: list[str], out: TextIO) -> int:
    container = _container(settings)
    try:
        answer = container.admin.why(" ".join(posts), for_slack=False)
    finally:
        container.close()
    out.write(answer + "\n")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Load the bundled example workshop and show the introductions the bot would make."""
    out.write(
        f"Loading the example workshop ({EXAMPLE_WORKSHOP.name}) into {safe_url(settings)}\n\n"
    )
    code = _import_file(EXAMPLE_WORKSHOP, settings, out, dry_run=False)
    if code:
        return code
    out.write("\nThe introductions kmbot would make:\n\n")
    print_matches_table(_matches(settings), out)
    return 0


def add_commands(subparsers: Any) -> None:
    """Add ``kmbot import``, ``kmbot matches`` and ``kmbot demo`` to the command line."""
    imp = subparsers.add_parser(
        "import", help="import a workshop's wants and offers from a CSV file"
    )
    imp.add_argument("file", help="CSV with header council,name,email,kind,text")
    imp.add_argument("--dry-run", action="store_true", help="check and report; save nothing")
    imp.set_defaults(func=cmd_import)

    mat = subparsers.add_parser("matches", help="show the introductions the bot would make")
    mat.add_argument("--json", action="store_true", help="print JSON (the interface contract)")
    mat.add_argument(
        "--explain",
        nargs=2,
        metavar=("WANT", "OFFER"),
        help="say why this want and this offer would, or would not, be introduced",
    )
    mat.set_defaults(func=cmd_matches)

    demo = subparsers.add_parser(
        "demo", help="load the example workshop and show its introductions"
    )
    demo.set_defaults(func=cmd_demo)
