"""Importing a workshop's flip-chart results into the store, all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput
from bot.reference.councils import CouncilDirectory
from bot.services.membership import (
    Participant,
    council_for,
    ensure_reference_councils,
    find_or_add_workshop_member,
    find_or_add_workshop_members,
    insert_returning_ids,
)
from bot.services.workshop_csv import ParsedWorkshop, RowProblem, WorkshopRow
from storage import queries
from storage.models import Council, Member, Post, PostKind, PostStatus, utcnow

logger = logging.getLogger(__name__)

_POSTS: Table = Post.__table__  # type: ignore[assignment]


@dataclass
class ImportSummary:
    """What an import did (or, on a dry run, would do)."""

    rows: int = 0
    added_wants: int = 0
    added_offers: int = 0
    already_imported: int = 0
    duplicates_in_file: int = 0
    new_councils: list[str] = field(default_factory=list)
    new_members: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)

    @property
    def added(self) -> int:
        """Posts added in all."""
        return self.added_wants + self.added_offers


def import_workshop(
    session: Session,
    parsed: ParsedWorkshop,
    directory: CouncilDirectory,
    *,
    expiry_days: int = 90,
    on_row: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Store a parsed workshop; the caller commits (or rolls back for a dry run)."""
    summary = ImportSummary(
        rows=len(parsed.rows) + len(parsed.problems),
        duplicates_in_file=parsed.duplicates_in_file,
        problems=list(parsed.problems),
    )
    if parsed.problems:
        return summary
    ensure_reference_councils(session, directory)
    councils: dict[str, Council] = {}
    # Resolve every council first, so an unclear name stops the import before anything is added.
    for row in parsed.rows:
        key = row.council.casefold()
        if key in councils:
            continue
        try:
            choice = council_for(session, row.council, directory)
        except InvalidInput as exc:
            summary.problems.append(RowProblem(row.line, f"line {row.line}: {exc}"))
            councils[key] = None  # type: ignore[assignment]
            continue
        assert choice is not None
        councils[key] = choice.council
        if choice.created:
            summary.new_councils.append(choice.council.name)
    if summary.problems:
        return summary
    fingerprints = [row.fingerprint() for row in parsed.rows]
    known = queries.existing_fingerprints(session, fingerprints)
    now = now or utcnow()
    expires = now + timedelta(days=expiry_days)
    pending: list[tuple[WorkshopRow, str]] = []
    # Members are looked up (and added) a batch of rows at a time, not a row at a time: a
    # workshop may name as many people as it has rows.
    member_ids: dict[str, int] = {}
    for n, (row, fp) in enumerate(zip(parsed.rows, fingerprints, strict=True), start=1):
        if fp in known:
            summary.already_imported += 1
        else:
            known.add(fp)
            pending.append((row, fp))
            if len(pending) >= 2000:
                _add(session, pending, councils, member_ids, summary, now, expires)
        if on_row is not None:
            on_row(n)
    _add(session, pending, councils, member_ids, summary, now, expires)
    return summary


def _add(
    session: Session,
    pending: list[tuple[WorkshopRow, str]],
    councils: dict[str, Council],
    member_ids: dict[str, int],
    summary: ImportSummary,
    now: object,
    expires: object,
) -> None:
    """Store a batch of new rows: their members first, then their posts; empties the batch."""
    if not pending:
        return
    summary.new_members += find_or_add_workshop_members(
        session,
        (
            Participant(row.name, row.email, councils[row.council.casefold()].id)
            for row, _fp in pending
        ),
        member_ids,
    )
    batch = [
        _post_for(session, row, fp, councils, member_ids, summary, now, expires)
        for row, fp in pending
    ]
    pending.clear()
    _insert(session, batch, summary)


def _insert(session: Session, batch: list[dict[str, Any]], summary: ImportSummary) -> None:
    """Insert a batch of posts in one executemany and empty the batch.

    A bulk insert, not ORM objects: a 100,000-row workshop would otherwise spend most of its
    time building, flushing and tracking objects nobody reads afterwards. On SQLite the new ids
    are read back by fingerprint (unique): it cannot return them in row order in bulk.
    """
    if not batch:
        return
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL returns each new id beside its fingerprint; reading them back afterwards
        # would scan a table the planner still believes empty.
        ids_by_fp = insert_returning_ids(session, _POSTS, batch, "fingerprint")
        summary.post_ids.extend(ids_by_fp[row["fingerprint"]] for row in batch)
        batch.clear()
        return
    # The table, not the ORM entity: the ORM splits a batch wherever optional columns differ.
    session.execute(insert(_POSTS), batch)
    fingerprints = [row["fingerprint"] for row in batch]
    ids: dict[str | None, int] = {}
    for start in range(0, len(fingerprints), 500):
        chunk = fingerprints[start : start + 500]
        ids.update(
            (fp, pid)
            for pid, fp in session.execute(
                select(Post.id, Post.fingerprint).where(Post.fingerprint.in_(chunk))
            )
        )
    summary.post_ids.extend(ids[fp] for fp in fingerprints)
    batch.clear()


def _post_for(
    session: Session,
    row: WorkshopRow,
    fp: str,
    councils: dict[str, Council],
    member_ids: dict[str, int],
    summary: ImportSummary,
    now: object,
    expires: object,
) -> dict[str, Any]:
    council = councils[row.council.casefold()]
    key = Member.key_for(row.email)
    if key is not None:
        member_id = member_ids[key]
    else:
        # Without an email nobody can tell two rows are the same person: a member each.
        member, new = find_or_add_workshop_member(
            session, name=row.name, email=row.email, council=council
        )
        if new:
            summary.new_members += 1
        member_id = member.id
    kind = PostKind(row.kind)
    if kind is PostKind.WANT:
        summary.added_wants += 1
    else:
        summary.added_offers += 1
    return dict(
        kind=kind,
        member_id=member_id,
        council_id=council.id,
        text=row.text,
        area=row.area,
        purpose=row.purpose,
        link=row.link,
        status=PostStatus.OPEN,
        source="workshop",
        fingerprint=fp,
        created_at=now,
        refreshed_at=now,
        expires_at=expires,
        changed_at=now,
    )
