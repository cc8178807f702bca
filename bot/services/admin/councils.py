"""Councils, as facilitators manage them: adding, renaming and merging, audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.kernel.clock import utcnow
from bot.kernel.errors import InvalidInput, NotFound
from bot.kernel.text import escape, truncate
from bot.reference.councils import CouncilDirectory
from bot.reports.stats import REGIONS
from bot.services import audit
from bot.services.membership import AmbiguousCouncil, council_for, ensure_reference_councils
from storage.models import Council, Member, Post


def council_snapshot(council: Council) -> dict[str, Any]:
    """What the audit log keeps of a council before and after a change."""
    return {
        "id": council.id,
        "name": council.name,
        "short_name": council.short_name,
        "region": council.region,
        "merged_into_id": council.merged_into_id,
    }


def find_council(session: Session, ref: str, directory: CouncilDirectory) -> Council:
    """A stored council by number (``12``, ``#12``) or name; NotFound otherwise."""
    ref = " ".join(ref.split())
    if not ref:
        raise InvalidInput("Which council? Give its name or number.")
    number = ref.lstrip("#")
    if number.isascii() and number.isdigit() and len(number) < 10:
        council = session.get(Council, int(number))
        if council is None:
            raise NotFound(f"There is no council #{number}.")
        return council
    ensure_reference_councils(session, directory)
    try:
        choice = council_for(session, ref, directory, create=False)
    except AmbiguousCouncil as exc:
        # Its message quotes what was typed unescaped; ours goes to Slack as mrkdwn.
        raise InvalidInput(
            f"“{escape(truncate(ref, 80))}” could be more than one council ("
            + escape("; ".join(exc.names[:5]))
            + "). Give the full name or "
            "the council's number."
        ) from None
    if choice is None:
        raise NotFound(f"I can't find a council called “{escape(truncate(ref, 80))}”.")
    return choice.council


def parse_region(text: str) -> str | None:
    """One of the known regions, matched without regard to case; None if it is not one."""
    wanted = " ".join(text.split()).casefold()
    for region in REGIONS:
        if region.casefold() == wanted:
            return region
    return None


def _nation_of(region: str) -> str:
    return region if region in ("Scotland", "Wales", "Northern Ireland") else "England"


def add_council(
    session: Session,
    name: str,
    *,
    actor: str,
    directory: CouncilDirectory,
    region: str | None = None,
) -> Council:
    """Add a council the reference list does not know (or say which stored council it is)."""
    ensure_reference_councils(session, directory)
    choice = council_for(session, name, directory, create=True)
    assert choice is not None
    if not choice.created:
        raise InvalidInput(
            f"That council is already known as *{escape(choice.council.name)}* "
            f"(council #{choice.council.id})."
        )
    council = choice.council
    if region is not None:
        council.region, council.nation = region, _nation_of(region)
    session.flush()
    audit.record(
        session,
        actor,
        "council.add",
        f"council #{council.id}",
        before=None,
        after=council_snapshot(council),
    )
    return council


def rename_council(
    session: Session, ref: str, new_name: str, *, actor: str, directory: CouncilDirectory
) -> Council:
    """Give a council a new name; the old one is kept as an alternative so it is still found."""
    council = find_council(session, ref, directory)
    new_name = " ".join(new_name.split())
    if not new_name:
        raise InvalidInput("What should it be called? e.g. `councils rename 12 to Newtown Council`")
    if len(new_name) > 200:
        raise InvalidInput("That name is too long (200 characters at most).")
    if new_name == council.name:
        raise InvalidInput(f"It is already called *{escape(new_name)}*.")
    clash = session.scalar(
        select(Council).where(
            func.lower(Council.name) == new_name.lower(), Council.id != council.id
        )
    )
    if clash is not None:
        raise InvalidInput(
            f"Council #{clash.id} is already called *{escape(clash.name)}*. "
            f"If they are the same council, merge them instead."
        )
    before = council_snapshot(council)
    council.other_names = [*(council.other_names or []), council.name]
    council.name = new_name
    council.short_name = new_name
    session.flush()
    audit.record(
        session,
        actor,
        "council.rename",
        f"council #{council.id}",
        before=before,
        after=council_snapshot(council),
    )
    return council


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class MergeResult:
    """The council that was kept, and what moved to it."""

    kept: Council
    members_moved: int
    posts_moved: int


def merge_councils(
    session: Session,
    duplicate_ref: str,
    into_ref: str,
    *,
    actor: str,
    directory: CouncilDirectory,
    now: datetime | None = None,
) -> MergeResult:
    """Merge two records of one council: the duplicate's members and posts move to the other."""
    duplicate = find_council(session, duplicate_ref, directory)
    keep = find_council(session, into_ref, directory)
    if duplicate.id == keep.id:
        raise InvalidInput(f"Those are the same record (*{escape(keep.name)}*).")
    if duplicate.merged_into_id is not None:
        raise InvalidInput(
            f"*{escape(duplicate.name)}* was already merged into council "
            f"#{duplicate.merged_into_id}."
        )
    now = now or utcnow()
    before = {"duplicate": council_snapshot(duplicate), "kept": council_snapshot(keep)}
    members = _rowcount(
        session.execute(
            update(Member).where(Member.council_id == duplicate.id).values(council_id=keep.id)
        )
    )
    # changed_at lets every process's match index pick up the new council of these posts.
    posts = _rowcount(
        session.execute(
            update(Post)
            .where(Post.council_id == duplicate.id)
            .values(council_id=keep.id, changed_at=now)
        )
    )
    duplicate.merged_into_id = keep.id
    keep.other_names = list(dict.fromkeys([*(keep.other_names or []), duplicate.name]))
    session.flush()
    session.expire_all()
    after = {
        "duplicate": council_snapshot(duplicate),
        "kept": council_snapshot(keep),
        "members_moved": members,
        "posts_moved": posts,
    }
    audit.record(
        session,
        actor,
        "council.merge",
        f"council #{duplicate.id} → #{keep.id}",
        before=before,
        after=after,
    )
    return MergeResult(keep, members, posts)
