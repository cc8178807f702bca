"""Moderation and manual introductions: a facilitator removes, restores or introduces posts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput, NotFound
from bot.kernel.settings import Settings
from bot.kernel.text import clean_post_text, escape
from bot.kernel.vocabulary import PostKind, PostStatus
from bot.live_index import LiveMatchIndex
from bot.outbox.enqueue import notify_member
from bot.services import audit
from bot.services.admin.facilitators import is_user_id
from bot.services.closing import set_status
from bot.services.introductions import introduce_manually
from bot.services.views import post_view
from bot.slack.kit import notice, quote
from storage.db import after_commit
from storage.models import Introduction, Member, Post

MAX_REASON = 500


def post_snapshot(post: Post) -> dict[str, Any]:
    """What the audit log keeps of a post before and after a change."""
    return {
        "status": str(post.status),
        "removed_reason": post.removed_reason,
        "status_before_removal": post.status_before_removal,
    }


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
    matcher: LiveMatchIndex,
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
            f"{quote(post.text, 600)}\n*Reason:* {escape(reason)}"
        )
        if is_user_id(actor):
            text += f"\nIf you think this is a mistake, please talk to <@{actor}>."
        notify_member(session, post.member, notice(text), kind="moderation")
    return post


def restore_post(
    session: Session,
    post_id: int,
    *,
    actor: str,
    matcher: LiveMatchIndex,
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
            notice(f"Good news: a facilitator has put your *{label}* back in the marketplace."),
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
    matcher: LiveMatchIndex,
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
