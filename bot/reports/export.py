"""CSV exports for facilitators: posts, introductions, outcomes, councils, live sessions and the
marketplace's outputs (each quarter's top areas, gaps and outcomes).

The headers below are part of the interface (facilitators keep spreadsheets built on them): add
columns only at the end, never rename or reorder. Dates are ISO 8601 in UTC; empty cells mean
"not known". Cells that a spreadsheet would run as a formula (starting ``=``, ``+``, ``-``, ``@``)
are prefixed with an apostrophe, because the text comes from members.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.kernel.clock import utcnow
from bot.reports.outputs import (
    OUTPUT_HEADER,
    Outputs,
    collect_outputs,
    output_rows,
    quarters_since,
    service_area_of,
    session_summaries,
)
from storage.models import Council, Introduction, Member, Outcome, Post, PostKind, PostStatus

POSTS_HEADER = (
    "id",
    "kind",
    "status",
    "area",
    "purpose",
    "council",
    "region",
    "member",
    "text",
    "link",
    "source",
    "created_at",
    "expires_at",
    "closed_at",
    "removed_reason",
    "session_id",  # the live marketplace session it was posted in, if any
    "service_area",  # the LGSL service area it is about, if one stands out
)
INTRODUCTIONS_HEADER = (
    "id",
    "created_at",
    "want_id",
    "want_council",
    "offer_id",
    "offer_council",
    "score",
    "manual",
    "status",
    "answered_at",
)
OUTCOMES_HEADER = (
    "id",
    "want_id",
    "council",
    "region",
    "introduction_id",
    "days_saved",
    "note",
    "recorded_at",
    "note_shared",  # yes: the member agreed the note may be shown in the network's outputs
)
SESSIONS_HEADER = (
    "id",
    "channel",
    "started_at",
    "ends_at",
    "ended_at",
    "started_by",
    "posts",
    "wants",
    "offers",
    "participants",
    "introductions",
)
COUNCILS_HEADER = (
    "id",
    "name",
    "short_name",
    "code",
    "gss_code",
    "nation",
    "region",
    "type",
    "members",
    "posts",
    "open_wants",
    "open_offers",
    "merged_into_id",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return value


def _write(out: io.TextIOBase | Any, header: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        count += 1
    return count


def outputs_csv(found: Outputs) -> bytes:
    """One quarter's outputs as a CSV file, written as every export is (a BOM, formulas
    defused)."""
    buffer = io.StringIO()
    _write(buffer, OUTPUT_HEADER, output_rows(found))
    return buffer.getvalue().encode("utf-8-sig")


def write_posts(session: Session, out: Any) -> int:
    """Every post, oldest first; returns how many rows were written."""
    stmt = (
        select(Post, Council.name, Council.region, Member.name)
        .join(Council, Post.council_id == Council.id)
        .outerjoin(Member, Post.member_id == Member.id)
        .order_by(Post.id)
    )
    return _write(
        out,
        POSTS_HEADER,
        (
            (
                p.id,
                str(p.kind),
                str(p.status),
                p.area,
                p.purpose,
                council,
                region,
                member,
                p.text,
                p.link,
                p.source,
                p.created_at,
                p.expires_at,
                p.closed_at,
                p.removed_reason,
                p.session_id,
                p.service_area or service_area_of(p.text),  # posts stored before areas were
            )
            for p, council, region, member in session.execute(stmt)
        ),
    )


def write_introductions(session: Session, out: Any) -> int:
    """Every introduction, oldest first."""
    want, offer = aliased(Post), aliased(Post)
    want_council, offer_council = aliased(Council), aliased(Council)
    stmt = (
        select(Introduction, want_council.name, offer_council.name)
        .join(want, Introduction.want_id == want.id)
        .join(offer, Introduction.offer_id == offer.id)
        .join(want_council, want.council_id == want_council.id)
        .join(offer_council, offer.council_id == offer_council.id)
        .where(Introduction.held_at.is_(None))  # held while someone is away: not made yet
        .order_by(Introduction.id)
    )
    return _write(
        out,
        INTRODUCTIONS_HEADER,
        (
            (
                i.id,
                i.created_at,
                i.want_id,
                wc,
                i.offer_id,
                oc,
                i.score,
                i.manual,
                str(i.status),
                i.answered_at,
            )
            for i, wc, oc in session.execute(stmt)
        ),
    )


def write_outcomes(session: Session, out: Any) -> int:
    """Every recorded outcome (what a fulfilled want saved), oldest first."""
    stmt = (
        select(Outcome, Council.name, Council.region)
        .join(Post, Outcome.post_id == Post.id)
        .join(Council, Post.council_id == Council.id)
        .order_by(Outcome.id)
    )
    return _write(
        out,
        OUTCOMES_HEADER,
        (
            (
                o.id,
                o.post_id,
                council,
                region,
                o.introduction_id,
                o.days_saved,
                o.note,
                o.created_at,
                o.share_note,
            )
            for o, council, region in session.execute(stmt)
        ),
    )


def write_councils(session: Session, out: Any) -> int:
    """Councils that take part (a member or a post), were added by hand, or were merged."""
    members = (
        select(Member.council_id, func.count(Member.id).label("n"))
        .where(Member.erased_at.is_(None))
        .group_by(Member.council_id)
        .subquery()
    )
    posts = (
        select(
            Post.council_id,
            func.count(Post.id).label("n"),
            func.sum(_open_of(PostKind.WANT)).label("wants"),
            func.sum(_open_of(PostKind.OFFER)).label("offers"),
        )
        .group_by(Post.council_id)
        .subquery()
    )
    stmt = (
        select(Council, members.c.n, posts.c.n, posts.c.wants, posts.c.offers)
        .outerjoin(members, members.c.council_id == Council.id)
        .outerjoin(posts, posts.c.council_id == Council.id)
        .where(
            or_(
                members.c.n > 0,
                posts.c.n > 0,
                Council.is_reference.is_(False),
                Council.merged_into_id.is_not(None),
            )
        )
        .order_by(Council.name)
    )
    return _write(
        out,
        COUNCILS_HEADER,
        (
            (
                c.id,
                c.name,
                c.short_name,
                c.code,
                c.gss_code,
                c.nation,
                c.region,
                c.type,
                m or 0,
                n or 0,
                w or 0,
                o or 0,
                c.merged_into_id,
            )
            for c, m, n, w, o in session.execute(stmt)
        ),
    )


def _open_of(kind: PostKind) -> Any:
    return case((and_(Post.kind == kind, Post.status == PostStatus.OPEN), 1), else_=0)


def write_sessions(session: Session, out: Any) -> int:
    """Every live marketplace session, oldest first, with the posts made in it and the
    introductions made while it ran."""
    return _write(
        out,
        SESSIONS_HEADER,
        (
            (
                s.id,
                s.channel,
                s.started_at,
                s.ends_at,
                s.ended_at,
                s.started_by,
                s.posts,
                s.wants,
                s.offers,
                s.participants,
                s.introductions,
            )
            for s in reversed(session_summaries(session))
        ),
    )


def write_outputs(session: Session, out: Any, *, now: datetime | None = None) -> int:
    """The marketplace's outputs for each quarter since the first post, oldest first: totals,
    top areas of demand and supply, gaps by region, and outcomes (notes only if shared)."""
    now = now or utcnow()
    first = session.scalar(select(func.min(Post.created_at)))
    return _write(
        out,
        OUTPUT_HEADER,
        (
            row
            for quarter in quarters_since(first, now=now)
            for row in output_rows(collect_outputs(session, quarter, now=now))
        ),
    )


def writers(now: datetime | None = None) -> dict[str, Callable[[Session, Any], int]]:
    """Each export file's name and its writer, in the order they are sent."""
    return {
        "posts.csv": write_posts,
        "introductions.csv": write_introductions,
        "outcomes.csv": write_outcomes,
        "councils.csv": write_councils,
        "sessions.csv": write_sessions,
        "outputs.csv": lambda session, out: write_outputs(session, out, now=now),
    }


def export_bytes(session: Session, *, now: datetime | None = None) -> dict[str, bytes]:
    """Every export as UTF-8 CSV bytes (with a BOM, so Excel reads the accents), by file name."""
    files: dict[str, bytes] = {}
    for name, writer in writers(now).items():
        buffer = io.StringIO()
        writer(session, buffer)
        files[name] = buffer.getvalue().encode("utf-8-sig")
    return files


def export_to(session: Session, folder: Path, *, now: datetime | None = None) -> dict[Path, int]:
    """Write every export into ``folder`` (made if missing); returns rows written per file."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[Path, int] = {}
    for name, writer in writers(now).items():
        path = folder / name
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            written[path] = writer(session, out)
    return written
