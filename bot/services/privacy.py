"""Personal data (UK GDPR): a member's copy of their data, erasure, and the retention period."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.settings import Settings
from bot.outbox import enqueue as outbox
from bot.services.marketplace import introduction_view, post_view
from bot.slack import blocks
from storage import queries
from storage.models import (
    AuditEntry,
    Introduction,
    Member,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    PendingPost,
    Post,
    PostStatus,
    utcnow,
)

logger = logging.getLogger(__name__)

ERASED_TEXT = "(erased at the author's request)"
PURGED_TEXT = "(removed after the retention period)"
_CLEARED: dict[str, Any] = {"cleared": True}
_BATCH = 200


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------- a member's copy of their data


def member_data(session: Session, member: Member) -> dict[str, Any]:
    """Everything kmbot stores about a member, as plain JSON-ready data."""
    posts = queries.posts_of(session, member.id)
    post_ids = [p.id for p in posts]
    intros = queries.introductions_of_member(session, member.id)
    outcomes = list(
        session.scalars(
            select(Outcome)
            .where(or_(Outcome.recorded_by_id == member.id, Outcome.post_id.in_(post_ids or [-1])))
            .order_by(Outcome.id)
        )
    )
    pending = list(
        session.scalars(
            select(PendingPost)
            .where(
                PendingPost.slack_team_id == member.slack_team_id,
                PendingPost.slack_user_id == (member.slack_user_id or ""),
            )
            .order_by(PendingPost.id)
        )
    )
    messages = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel == (member.slack_user_id or "-"))
            .order_by(OutboxMessage.id)
        )
    )
    audit = list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.actor == (member.slack_user_id or "-"))
            .order_by(AuditEntry.id)
        )
    )
    return {
        "about": "Everything the Wants & Offers Marketplace bot (kmbot) stores about you.",
        "member": {
            "slack_user_id": member.slack_user_id,
            "slack_team_id": member.slack_team_id,
            "name": member.name,
            "email": member.email,
            "council": member.council.name if member.council else None,
            "role": str(member.role),
            "joined_at": _iso(member.created_at),
        },
        "posts": [
            {
                "id": p.id,
                "kind": str(p.kind),
                "text": p.text,
                "council": p.council.name,
                "knowledge_area": p.area,
                "purpose": p.purpose,
                "link": p.link,
                "status": str(p.status),
                "created_at": _iso(p.created_at),
                "expires_at": _iso(p.expires_at),
                "closed_at": _iso(p.closed_at),
                "removed_reason": p.removed_reason,
            }
            for p in posts
        ],
        "introductions": [
            {
                "id": i.id,
                "want_id": i.want_id,
                "offer_id": i.offer_id,
                "other_council": (i.offer if i.want_id in post_ids else i.want).council.name,
                "status": str(i.status),
                "created_at": _iso(i.created_at),
                "answered_by_you": i.answered_by_id == member.id,
                "made_by_you": i.made_by_id == member.id,
            }
            for i in intros
        ],
        "outcomes": [
            {
                "want_id": o.post_id,
                "days_saved": o.days_saved,
                "note": o.note,
                "recorded_at": _iso(o.created_at),
            }
            for o in outcomes
        ],
        "posts_waiting_for_your_council": [
            {
                "kind": str(p.kind),
                "text": p.text,
                "created_at": _iso(p.created_at),
            }
            for p in pending
        ],
        "direct_messages_from_the_bot": [
            {
                "kind": m.kind,
                "status": str(m.status),
                "text": (m.payload or {}).get("text"),
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in messages
        ],
        "admin_actions_you_took": [
            {
                "at": _iso(a.at),
                "action": a.action,
                "target": a.target,
            }
            for a in audit
        ],
    }


def member_data_json(session: Session, member: Member) -> str:
    """A member's data as indented JSON, for a file they can keep."""
    return json.dumps(member_data(session, member), indent=2, ensure_ascii=False)


# ---------------------------------------------------------------- erasure ("forget me")


@dataclass
class Erasure:
    """What erasing a member did."""

    posts_withdrawn: int = 0
    posts_erased: int = 0
    introductions_updated: int = 0
    messages_cleared: int = 0
    withdrawn_ids: list[int] = field(default_factory=list)


def forget_member(session: Session, member: Member, *, now: datetime | None = None) -> Erasure:
    """Erase a member's personal data and withdraw their posts; anonymous counts stay.

    Posts, introductions and outcomes remain as anonymous rows (kind, council, area, status,
    dates, days saved) so the network's figures do not change; every text, name, email, link,
    note and Slack id of theirs is removed, and Slack is owed updated cards and introductions.
    """
    now = now or utcnow()
    done = Erasure()
    team_id, user_id = member.slack_team_id, member.slack_user_id
    posts = queries.posts_of(session, member.id)
    post_ids = [p.id for p in posts]
    intros = queries.introductions_of_member(session, member.id)
    for post in posts:
        if post.status == PostStatus.OPEN:
            post.status = PostStatus.WITHDRAWN
            post.closed_at = now
            done.posts_withdrawn += 1
            done.withdrawn_ids.append(post.id)
        post.text, post.link, post.removed_reason = ERASED_TEXT, None, None
        post.member_id = None
        post.changed_at = now
        done.posts_erased += 1
    session.flush()
    for post in posts:
        session.refresh(post)
        _owe_card(session, post)
    session.execute(
        update(Outcome)
        .where(or_(Outcome.recorded_by_id == member.id, Outcome.post_id.in_(post_ids or [-1])))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    for intro in intros:
        session.refresh(intro)
        _owe_introduction(session, intro)
        done.introductions_updated += 1
    if user_id:
        session.execute(
            delete(PendingPost).where(
                PendingPost.slack_team_id == team_id, PendingPost.slack_user_id == user_id
            )
        )
        # Direct messages not yet sent would only reach someone who asked to be forgotten.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == user_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(
                status=OutboxStatus.DEAD,
                payload=_CLEARED,
                last_error="member asked to be forgotten",
            )
            .execution_options(synchronize_session=False)
        )
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == user_id)
            .values(payload=_CLEARED)
            .execution_options(synchronize_session=False)
        )
        done.messages_cleared += int(getattr(result, "rowcount", 0) or 0)
    done.messages_cleared += _clear_sent_payloads(session, post_ids, [i.id for i in intros])
    member.name = None
    member.email = None
    member.slack_user_id = None
    member.erased_at = now
    session.flush()
    logger.info("Erased member %s: %s", member.id, done)
    return done


def _owe_card(session: Session, post: Post) -> None:
    """Owe Slack the post's card as it now is (so a name or text leaves the channel too)."""
    card = outbox.card_message(session, post.id)
    if card is None:
        return
    payload = blocks.card(post_view(post))
    if card.status == OutboxStatus.PENDING:
        card.payload = payload
    elif card.status == OutboxStatus.SENT:
        outbox.enqueue(
            session,
            kind="card_update",
            method="chat.update",
            parent=card,
            payload=payload,
            post_id=post.id,
        )


def _owe_introduction(session: Session, intro: Introduction) -> None:
    """Owe Slack the introduction's message without the erased member's details."""
    msg = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.introduction_id == intro.id, OutboxMessage.kind == "introduction"
        )
    )
    if msg is None:
        return
    payload = blocks.introduction(introduction_view(intro, session))
    if msg.status == OutboxStatus.PENDING:
        msg.payload = payload
    elif msg.status == OutboxStatus.SENT:
        outbox.enqueue(
            session,
            kind="introduction_update",
            method="chat.update",
            parent=msg,
            payload=payload,
            introduction_id=intro.id,
        )


def _clear_sent_payloads(session: Session, post_ids: list[int], intro_ids: list[int]) -> int:
    """Forget our copies of messages already in Slack about these posts and introductions."""
    if not post_ids and not intro_ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status != OutboxStatus.PENDING,
            or_(
                OutboxMessage.post_id.in_(post_ids or [-1]),
                OutboxMessage.introduction_id.in_(intro_ids or [-1]),
            ),
        )
        .values(payload=_CLEARED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- the retention period


def purge_closed_posts(
    session_factory: sessionmaker[Session], *, settings: Settings, now: datetime
) -> int:
    """Remove the content of posts closed more than ``settings.retention_days`` ago; how many.

    Idempotent and safe from two workers at once. Each purged post keeps its anonymous facts
    (kind, council, area, purpose, status, dates) so counts and days saved stay right; its text,
    link, author and outcome note go, with our copies of messages about it. Sent messages and
    posts never published (a member who did not finish joining) older than the period go too.
    """
    cutoff = now - timedelta(days=settings.retention_days)
    closed_at = func.coalesce(Post.closed_at, Post.changed_at)
    with session_factory() as session:
        post_ids = list(
            session.scalars(
                select(Post.id)
                .where(
                    Post.status != PostStatus.OPEN,
                    closed_at < cutoff,
                    Post.text.not_in([PURGED_TEXT, ERASED_TEXT]),
                )
                .order_by(Post.id)
            )
        )
    purged = 0
    for start in range(0, len(post_ids), _BATCH):
        chunk = post_ids[start : start + _BATCH]
        with session_factory.begin() as session:
            result = session.execute(
                update(Post)
                .where(Post.id.in_(chunk), Post.text.not_in([PURGED_TEXT, ERASED_TEXT]))
                .values(text=PURGED_TEXT, link=None, removed_reason=None, member_id=None)
                .execution_options(synchronize_session=False)
            )
            purged += int(getattr(result, "rowcount", 0) or 0)
            session.execute(
                update(Outcome)
                .where(Outcome.post_id.in_(chunk))
                .values(note=None)
                .execution_options(synchronize_session=False)
            )
            intro_ids = list(
                session.scalars(
                    select(Introduction.id).where(
                        or_(Introduction.want_id.in_(chunk), Introduction.offer_id.in_(chunk))
                    )
                )
            )
            _clear_sent_payloads(session, chunk, intro_ids)
    with session_factory.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status != OutboxStatus.PENDING, OutboxMessage.created_at < cutoff)
            .values(payload=_CLEARED)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(PendingPost).where(PendingPost.created_at < cutoff))
    if purged:
        logger.info("Purged %d posts closed before %s", purged, cutoff.date())
    return purged
