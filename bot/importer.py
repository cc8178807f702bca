"""Importing a workshop's flip-chart results into the store, all or nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from bot.councils import CouncilDirectory
from bot.errors import InvalidInput
from bot.membership import council_for, ensure_reference_councils, find_or_add_workshop_member
from bot.workshop import ParsedWorkshop, RowProblem, WorkshopRow
from storage import queries
from storage.models import Council, Post, PostKind, PostStatus, utcnow

logger = logging.getLogger(__name__)


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
    now = utcnow()
    expires = now + timedelta(days=expiry_days)
    batch: list[Post] = []
    for n, (row, fp) in enumerate(zip(parsed.rows, fingerprints, strict=True), start=1):
        if fp in known:
            summary.already_imported += 1
        else:
            known.add(fp)
            batch.append(_post_for(session, row, fp, councils, directory, summary, now, expires))
            if len(batch) >= 2000:
                session.add_all(batch)
                session.flush()
                summary.post_ids.extend(p.id for p in batch)
                batch.clear()
        if on_row is not None:
            on_row(n)
    if batch:
        session.add_all(batch)
        session.flush()
        summary.post_ids.extend(p.id for p in batch)
    return summary


def _post_for(
    session: Session,
    row: WorkshopRow,
    fp: str,
    councils: dict[str, Council],
    directory: CouncilDirectory,
    summary: ImportSummary,
    now: object,
    expires: object,
) -> Post:
    council = councils[row.council.casefold()]
    member, new = find_or_add_workshop_member(
        session, name=row.name, email=row.email, council=council
    )
    if new:
        summary.new_members += 1
    kind = PostKind(row.kind)
    if kind is PostKind.WANT:
        summary.added_wants += 1
    else:
        summary.added_offers += 1
    return Post(
        kind=kind,
        member_id=member.id,
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
