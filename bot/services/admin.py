"""Facilitator services: facilitators, councils, moderation and manual introductions, audited."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput, NotAllowed, NotFound
from bot.kernel.settings import Settings
from bot.kernel.text import clean_post_text, escape, truncate
from bot.live_index import MarketMatcher
from bot.reference.councils import CouncilDirectory
from bot.reports.stats import REGIONS
from bot.services import audit
from bot.services.marketplace import (
    after_commit,
    introduce_manually,
    notify_member,
    post_view,
    set_status,
)
from bot.services.membership import AmbiguousCouncil, council_for, ensure_reference_councils
from bot.slack import blocks
from storage.models import (
    Council,
    Introduction,
    Member,
    Post,
    PostKind,
    PostStatus,
    Role,
    utcnow,
)

logger = logging.getLogger(__name__)

_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
MAX_REASON = 500


# ---------------------------------------------------------------- snapshots for the audit log


def post_snapshot(post: Post) -> dict[str, Any]:
    """What the audit log keeps of a post before and after a change."""
    return {
        "status": str(post.status),
        "removed_reason": post.removed_reason,
        "status_before_removal": post.status_before_removal,
    }


def council_snapshot(council: Council) -> dict[str, Any]:
    """What the audit log keeps of a council before and after a change."""
    return {
        "id": council.id,
        "name": council.name,
        "short_name": council.short_name,
        "region": council.region,
        "merged_into_id": council.merged_into_id,
    }


def member_snapshot(member: Member) -> dict[str, Any]:
    """What the audit log keeps of a member before and after a change of role."""
    return {"slack_user_id": member.slack_user_id, "role": str(member.role)}


# ---------------------------------------------------------------- facilitators


def parse_user(text: str) -> str:
    """A Slack user id from ``<@U123|name>``, ``<@U123>`` or ``U123``; InvalidInput otherwise."""
    text = text.strip()
    found = _USER_MENTION.match(text)
    if found:
        return found.group(1)
    if _USER_ID.match(text):
        return text
    if text.startswith("@"):
        # The command's "escape users" setting is off, so Slack passed on the name as typed.
        raise InvalidInput(
            f"Slack sent me “{escape(truncate(text, 40))}” as typed, not who it is. Give their "
            "member ID instead (their profile › ⋯ › Copy member ID; it starts with U)."
        )
    raise InvalidInput(
        f"“{escape(truncate(text, 40)) or 'nothing'}” is not a Slack user. Mention them, "
        "e.g. `@Jo Bloggs`, or give their user id (it starts with U)."
    )


def _members_with_user_id(session: Session, user_id: str) -> list[Member]:
    return list(
        session.scalars(select(Member).where(Member.slack_user_id == user_id).order_by(Member.id))
    )


def facilitator_member(session: Session, team_id: str, user_id: str) -> Member | None:
    """The facilitator acting in Slack, or None if this user is not a facilitator.

    A facilitator bootstrapped from the settings may have been stored before we knew their
    workspace; the first request from them claims that record for the workspace, so joining a
    council later updates the same member rather than making a second one.
    """
    found = [m for m in _members_with_user_id(session, user_id) if m.slack_team_id in (team_id, "")]
    exact = [m for m in found if m.slack_team_id == team_id]
    member = exact[0] if exact else (found[0] if found else None)
    if member is None or member.role != Role.FACILITATOR:
        return None
    if member.slack_team_id != team_id:
        member.slack_team_id = team_id
        session.flush()
    return member


def list_facilitators(session: Session) -> list[Member]:
    """Every facilitator, in the order they were added."""
    return list(
        session.scalars(select(Member).where(Member.role == Role.FACILITATOR).order_by(Member.id))
    )


def add_facilitator(session: Session, user_id: str, *, actor: str, team_id: str = "") -> Member:
    """Make a Slack user a facilitator (made a member with no council if they have not joined)."""
    existing = _members_with_user_id(session, user_id)
    if existing and all(m.role == Role.FACILITATOR for m in existing):
        raise InvalidInput(f"<@{user_id}> is already a facilitator.")
    if not existing:
        member = Member(slack_team_id=team_id, slack_user_id=user_id, role=Role.FACILITATOR)
        session.add(member)
        session.flush()
        audit.record(
            session, actor, "facilitator.add", user_id, before=None, after=member_snapshot(member)
        )
        return member
    for member in existing:
        if member.role != Role.FACILITATOR:
            before = member_snapshot(member)
            member.role = Role.FACILITATOR
            session.flush()
            audit.record(
                session,
                actor,
                "facilitator.add",
                user_id,
                before=before,
                after=member_snapshot(member),
            )
    return existing[0]


def remove_facilitator(
    session: Session, user_id: str, *, actor: str, configured: Iterable[str] = ()
) -> Member:
    """Make a facilitator an ordinary member again; the last facilitator cannot be removed."""
    if user_id in set(configured):
        raise NotAllowed(
            f"<@{user_id}> is listed in KMBOT_FACILITATORS, so they would be made a facilitator "
            "again at the next start. Take them out of that setting first."
        )
    members = [m for m in _members_with_user_id(session, user_id) if m.role == Role.FACILITATOR]
    if not members:
        raise NotFound(f"<@{user_id}> is not a facilitator.")
    others = session.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.role == Role.FACILITATOR, Member.slack_user_id != user_id)
    )
    if not others:
        raise NotAllowed(
            "That is the last facilitator: the marketplace needs at least one. "
            "Add another facilitator first."
        )
    for member in members:
        before = member_snapshot(member)
        member.role = Role.PRACTITIONER
        session.flush()
        audit.record(
            session,
            actor,
            "facilitator.remove",
            user_id,
            before=before,
            after=member_snapshot(member),
        )
    return members[0]


def bootstrap_facilitators(
    session: Session, user_ids: Iterable[str], *, team_id: str = ""
) -> list[str]:
    """Make every configured user id a facilitator; returns those that were not one already."""
    made: list[str] = []
    for user_id in dict.fromkeys(u.strip() for u in user_ids if u.strip()):
        if not _USER_ID.match(user_id):
            logger.warning("KMBOT_FACILITATORS: %r is not a Slack user id; ignored", user_id)
            continue
        existing = _members_with_user_id(session, user_id)
        if existing and all(m.role == Role.FACILITATOR for m in existing):
            continue
        add_facilitator(session, user_id, actor=audit.SETTINGS_ACTOR, team_id=team_id)
        made.append(user_id)
    return made


def record_refusal(session: Session, user_id: str, attempted: str) -> None:
    """Log and audit someone who is not a facilitator trying an admin command."""
    logger.warning("Refused /km-admin %r from %s: not a facilitator", attempted, user_id)
    audit.record(
        session,
        user_id,
        "refused",
        truncate(attempted, 120) or "/km-admin",
        after={"command": truncate(attempted, 200)},
    )


# ---------------------------------------------------------------- councils


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


# ---------------------------------------------------------------- moderation


def _post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(f"There is no post #{post_id}.")
    return post


def remove_post(
    session: Session,
    post_id: int,
    reason: str,
    *,
    actor: str,
    matcher: MarketMatcher,
    now: datetime | None = None,
) -> Post:
    """Take a post off the marketplace with a reason; its author is told why."""
    post = _post(session, post_id)
    label = post_view(post).label
    reason = clean_post_text(reason)
    if not reason:
        raise InvalidInput(
            f"Please give a reason; its author will see it. "
            f"e.g. `/km-admin remove {post_id} contains personal data`"
        )
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Please keep the reason under {MAX_REASON} characters.")
    if post.status == PostStatus.REMOVED:
        raise InvalidInput(f"{label} has already been removed.")
    before = post_snapshot(post)
    post.status_before_removal = str(post.status)
    post.removed_reason = reason
    set_status(session, post, PostStatus.REMOVED, now=now)
    post_id = post.id
    after_commit(session, lambda: matcher.remove(post_id))
    audit.record(session, actor, "post.remove", label, before=before, after=post_snapshot(post))
    if post.member is not None:
        text = (
            f"A facilitator has removed your *{label}* from the marketplace:\n"
            f"{blocks.quote(post.text, 600)}\n*Reason:* {escape(reason)}"
        )
        if _USER_ID.match(actor):
            text += f"\nIf you think this is a mistake, please talk to <@{actor}>."
        notify_member(session, post.member, blocks.notice(text), kind="moderation")
    return post


def restore_post(
    session: Session,
    post_id: int,
    *,
    actor: str,
    matcher: MarketMatcher,
    now: datetime | None = None,
) -> Post:
    """Put a removed post back as it was; its author is told."""
    post = _post(session, post_id)
    label = post_view(post).label
    if post.status != PostStatus.REMOVED:
        raise InvalidInput(f"{label} has not been removed (it is {post.status}).")
    before = post_snapshot(post)
    previous = post.status_before_removal or PostStatus.OPEN.value
    try:
        status = PostStatus(previous)
    except ValueError:
        status = PostStatus.OPEN
    post.removed_reason = None
    post.status_before_removal = None
    set_status(session, post, status, now=now)
    if status == PostStatus.OPEN:
        after_commit(session, lambda: matcher.add(post))
    audit.record(session, actor, "post.restore", label, before=before, after=post_snapshot(post))
    if post.member is not None:
        notify_member(
            session,
            post.member,
            blocks.notice(
                f"Good news: a facilitator has put your *{label}* back in the marketplace."
            ),
            kind="moderation",
        )
    return post


# ---------------------------------------------------------------- manual introductions


def introduce(
    session: Session,
    first_id: int,
    second_id: int,
    *,
    actor: str,
    made_by: Member | None,
    settings: Settings,
    matcher: MarketMatcher,
) -> Introduction:
    """Introduce a want and an offer a facilitator chose (given in either order)."""
    first, second = _post(session, first_id), _post(session, second_id)
    if first.kind == second.kind:
        raise InvalidInput(
            f"#{first.id} and #{second.id} are both {first.kind}s; "
            "an introduction joins a want and an offer."
        )
    want, offer = (first, second) if first.kind == PostKind.WANT else (second, first)
    intro = introduce_manually(
        session, want, offer, made_by=made_by, settings=settings, matcher=matcher
    )
    if intro is None:
        raise InvalidInput(f"Want #{want.id} and offer #{offer.id} have already been introduced.")
    audit.record(
        session,
        actor,
        "introduction.manual",
        f"introduction #{intro.id}",
        before=None,
        after={"want_id": want.id, "offer_id": offer.id, "score": intro.score},
    )
    return intro
