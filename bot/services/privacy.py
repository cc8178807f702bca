"""Personal data (UK GDPR): a member's copy of their data, erasure, and the retention period."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.services import audit
from bot.services.closing import owe_card
from bot.services.context import ServiceContext, member_of
from bot.services.introductions import follow_up_dms, owe_follow_up_update, owe_update
from bot.services.welcome import welcome_key
from bot.slack import followups as follow_up_messages
from storage import queries
from storage.db import after_commit
from storage.models import (
    AuditEntry,
    Member,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    PendingPost,
    PostStatus,
    utcnow,
)

logger = logging.getLogger(__name__)

ERASED_TEXT = "(erased at the author's request)"
CLEARED: dict[str, Any] = {"cleared": True}
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
            "away_until": _iso(member.away_until),
            "welcome_message_sent_at": next(
                (_iso(m.sent_at) for m in messages if m.kind == "welcome"), None
            ),
            "last_follow_up_message_at": _iso(member.last_follow_up_at),
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
                "held_while_someone_is_away_since": _iso(i.held_at),
                "follow_ups_sent": i.follow_ups,
                "last_followed_up_at": _iso(i.followed_up_at),
                "next_follow_up_due_at": _iso(i.follow_up_due_at),
                "still_talking_at": _iso(i.still_talking_at),
                "no_response_recorded_at": _iso(i.no_response_at),
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
        "direct_messages_from_the_bot": [_message_data(m) for m in messages],
        "admin_actions_you_took": [
            {
                "at": _iso(a.at),
                "action": a.action,
                "target": a.target,
            }
            for a in audit
        ],
    }


def _message_data(message: OutboxMessage) -> dict[str, Any]:
    return {
        "kind": message.kind,
        "status": str(message.status),
        "text": (message.payload or {}).get("text"),
        "created_at": _iso(message.created_at),
        "sent_at": _iso(message.sent_at),
    }


def member_data_json(session: Session, member: Member) -> str:
    """A member's data as indented JSON, for a file they can keep."""
    return json.dumps(member_data(session, member), indent=2, ensure_ascii=False)


def _visitor_messages(session: Session, team_id: str, user_id: str) -> list[OutboxMessage]:
    # Someone who has not joined has no member row; the one thing kmbot may hold about them is
    # the welcome DM it sent when they joined the marketplace channel.
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dedupe_key == welcome_key(team_id, user_id))
            .order_by(OutboxMessage.id)
        )
    )


def visitor_data(session: Session, team_id: str, user_id: str) -> dict[str, Any] | None:
    """What kmbot stores about someone who has not joined (their welcome DM), or None."""
    messages = _visitor_messages(session, team_id, user_id)
    if not messages:
        return None
    return {
        "about": "Everything the Wants & Offers Marketplace bot (kmbot) stores about you.",
        "member": {"slack_user_id": user_id, "slack_team_id": team_id, "joined": False},
        "direct_messages_from_the_bot": [_message_data(m) for m in messages],
    }


def forget_visitor(session: Session, team_id: str, user_id: str) -> int:
    """Erase what kmbot holds about someone who never joined (their welcome DM); how many
    messages were cleared. Should they join the channel again, they are welcomed again."""
    done = 0
    for message in _visitor_messages(session, team_id, user_id):
        _forget_message(message)
        done += 1
    return done


def _forget_message(message: OutboxMessage) -> None:
    if message.status == OutboxStatus.PENDING:
        message.status = OutboxStatus.DEAD
        message.last_error = "member asked to be forgotten"
    message.payload = CLEARED
    message.channel = None
    message.dedupe_key = None


# ---------------------------------------------------------------- erasure ("forget me")


@dataclass
class Erasure:
    """What erasing a member did."""

    posts_withdrawn: int = 0
    posts_erased: int = 0
    introductions_updated: int = 0
    messages_cleared: int = 0
    withdrawn_ids: list[int] = field(default_factory=list)
    audit_entries_scrubbed: int = 0
    held_introductions_dropped: int = 0  # held while someone was away: never made
    follow_ups_updated: int = 0  # the other person's follow-up DMs, no longer naming them


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
    # Introductions held while someone was away were never made: they go with the posts.
    for intro in [i for i in intros if i.held_at is not None]:
        session.delete(intro)
        done.held_introductions_dropped += 1
    intros = [i for i in intros if i.held_at is None]
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
        owe_card(session, post)  # so a name or text leaves the channel too
    session.execute(
        update(Outcome)
        .where(or_(Outcome.recorded_by_id == member.id, Outcome.post_id.in_(post_ids or [-1])))
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    for intro in intros:
        session.refresh(intro)
        owe_update(session, intro)
        done.introductions_updated += 1
        # The other person's follow-up DMs about it name them and quote their post.
        for dm in follow_up_dms(session, intro, answered_too=True):
            if owe_follow_up_update(
                session, dm, intro, follow_up_messages.erased(dm.payload, intro.id)
            ):
                done.follow_ups_updated += 1
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
                payload=CLEARED,
                last_error="member asked to be forgotten",
            )
            .execution_options(synchronize_session=False)
        )
        # The welcome's key names them; without it, they are welcomed again should they return.
        done.messages_cleared += forget_visitor(session, team_id, user_id)
        session.flush()
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == user_id)
            .values(payload=CLEARED, channel=None)  # a DM's channel is their Slack id
            .execution_options(synchronize_session=False)
        )
        done.messages_cleared += int(getattr(result, "rowcount", 0) or 0)
        done.audit_entries_scrubbed = audit.forget_user(session, user_id)
    done.messages_cleared += clear_sent_payloads(session, post_ids, [i.id for i in intros])
    member.name = None
    member.email = None
    member.slack_user_id = None
    member.away_until = None
    member.last_follow_up_at = None
    member.erased_at = now
    session.flush()
    logger.info("Erased member %s: %s", member.id, done)
    return done


def clear_sent_payloads(session: Session, post_ids: list[int], intro_ids: list[int]) -> int:
    """Forget our copies of the messages about these posts and introductions; how many."""
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
        .values(payload=CLEARED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------- for the Slack handlers


class PrivacyService:
    """A member's copy of their data, and erasure, as the Slack handlers need them."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def my_data(self, team_id: str, user_id: str) -> str | None:
        """Everything stored about a member as JSON, or None if nothing is."""
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            if member is not None:
                return member_data_json(session, member)
            visitor = visitor_data(session, team_id, user_id)
            return json.dumps(visitor, indent=2, ensure_ascii=False) if visitor else None

    def open_posts(self, team_id: str, user_id: str) -> int | None:
        """How many open posts erasing would withdraw; None if kmbot holds nothing about them."""
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            if member is not None:
                return len(queries.open_posts_of(session, member.id))
            return 0 if _visitor_messages(session, team_id, user_id) else None

    def forget(self, team_id: str, user_id: str) -> Erasure | None:
        """Erase a member's personal data and withdraw their posts; None if already erased."""
        live_index = self.context.live_index
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id, lock=True)
            if member is None:  # never joined (welcomed only), or erased a moment ago
                cleared = forget_visitor(session, team_id, user_id)
                return Erasure(messages_cleared=cleared) if cleared else None
            done = forget_member(session, member, now=self.context.clock())
            withdrawn = list(done.withdrawn_ids)

            def forget_in_index() -> None:
                for post_id in withdrawn:
                    live_index.remove(post_id)

            after_commit(session, forget_in_index)
            return done
