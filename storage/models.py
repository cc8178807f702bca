"""SQLAlchemy models: the whole marketplace as stored."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from bot.kernel.clock import utcnow
from bot.kernel.vocabulary import (
    IntroductionStatus,
    OutboxStatus,
    PostKind,
    PostStatus,
    Role,
)

__all__ = [
    "AuditEntry",
    "Base",
    "CommunityOfPractice",
    "Council",
    "IntakeRequest",
    "Introduction",
    "IntroductionStatus",
    "MarketSession",
    "Member",
    "NudgePrompt",
    "NudgeRun",
    "Outcome",
    "OutboxMessage",
    "OutboxStatus",
    "PendingPost",
    "Post",
    "PostKind",
    "PostStatus",
    "Role",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and gives them back aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; kmbot stores UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings (no native enum, no CHECK) so adding a value needs no migration.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class Council(Base):
    """A local authority taking part (or able to take part) in the network."""

    __tablename__ = "councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str] = mapped_column(String(120))
    code: Mapped[str | None] = mapped_column(String(8), unique=True)
    gss_code: Mapped[str | None] = mapped_column(String(12), unique=True)
    nation: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(60))
    type: Mapped[str | None] = mapped_column(String(80))
    web_domain: Mapped[str | None] = mapped_column(String(120), index=True)
    other_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_reference: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Member]] = relationship(back_populates="council")


class Member(Base):
    """A Slack user who has joined the marketplace on behalf of a council."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("slack_team_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    slack_team_id: Mapped[str] = mapped_column(String(32), default="")
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    # The email as looked up (stripped, lower-case), indexed: finding a member by email is one
    # index probe, not a scan of lower(email). Kept in step with ``email`` by ``_keep_email_key``.
    email_key: Mapped[str | None] = mapped_column(String(254), index=True)
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.PRACTITIONER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Away and follow-ups (migration 0008)
    away_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    council: Mapped[Council | None] = relationship(back_populates="members")
    posts: Mapped[list[Post]] = relationship(back_populates="member")

    @staticmethod
    def key_for(email: str | None) -> str | None:
        """The look-up key of an email address: stripped and lower-cased; None for no email."""
        key = email.strip().lower() if email else ""
        return key or None

    @validates("email")
    def _keep_email_key(self, _name: str, email: str | None) -> str | None:
        # Whenever the email is set or cleared (joining, importing, forgetting), so is its key.
        self.email_key = Member.key_for(email)
        return email


class Post(Base):
    """A want or an offer."""

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_kind_status", "kind", "status"),
        Index("ix_posts_member_kind_status", "member_id", "kind", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind, "post_kind"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    area: Mapped[str | None] = mapped_column(String(4))
    purpose: Mapped[str | None] = mapped_column(String(20))
    link: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[PostStatus] = mapped_column(
        _enum(PostStatus, "post_status"), default=PostStatus.OPEN, index=True
    )
    source: Mapped[str] = mapped_column(String(20), default="slack")
    fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_reason: Mapped[str | None] = mapped_column(Text)
    status_before_removal: Mapped[str | None] = mapped_column(String(20))
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    # Bumped on every change so each web process can bring its match index up to date.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Live marketplace sessions and outputs
    # The live session the post was made in, if any; its LGSL service area (top-level function).
    session_id: Mapped[int | None] = mapped_column(ForeignKey("market_sessions.id"), index=True)
    service_area: Mapped[str | None] = mapped_column(String(80), index=True)

    member: Mapped[Member | None] = relationship(back_populates="posts")
    council: Mapped[Council] = relationship()


class Introduction(Base):
    """A want and an offer put in touch; a pair is introduced at most once."""

    __tablename__ = "introductions"
    __table_args__ = (UniqueConstraint("want_id", "offer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    want_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[IntroductionStatus] = mapped_column(
        _enum(IntroductionStatus, "introduction_status"), default=IntroductionStatus.PROPOSED
    )
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    made_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Follow-ups and away (migration 0008)
    # Held: made while a party was away; its message is owed when they are back.
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_ups: Mapped[int] = mapped_column(Integer, default=0)
    followed_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    still_talking_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    no_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    want: Mapped[Post] = relationship(foreign_keys=[want_id])
    offer: Mapped[Post] = relationship(foreign_keys=[offer_id])


class Outcome(Base):
    """What a fulfilled want saved, as its owner reported it."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), unique=True)
    introduction_id: Mapped[int | None] = mapped_column(ForeignKey("introductions.id"))
    days_saved: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Outcome notes shared with sponsors (migration 0009)
    # The member agreed that the note may be shown to sponsors (never shared by default).
    share_note: Mapped[bool] = mapped_column(Boolean, default=False)

    post: Mapped[Post] = relationship()


# Live marketplace sessions
class MarketSession(Base):
    """A timed, live wants-and-offers session in a channel, with a board updated in place."""

    __tablename__ = "market_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Set once, when the session is closed (by a facilitator or the timer): the outputs are owed.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The board's announcement (its outbox row); its updates are that row's chat.update children.
    # use_alter: outbox, posts and sessions refer to each other in a cycle
    board_outbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox.id", ondelete="SET NULL", use_alter=True)
    )


class CommunityOfPractice(Base):
    """A Slack channel where a community of practice meets, nudged weekly."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    area: Mapped[str] = mapped_column(String(4))
    weekday: Mapped[int] = mapped_column(Integer)  # Monday is 0
    time_of_day: Mapped[str] = mapped_column(String(5))  # "HH:MM", local to timezone
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    nation: Mapped[str] = mapped_column(String(20), default="England")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    prompt_cursor: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NudgePrompt(Base):
    """A conversation starter for a community's weekly nudge."""

    __tablename__ = "nudge_prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    area: Mapped[str | None] = mapped_column(String(4), index=True)  # None: any area
    text: Mapped[str] = mapped_column(Text)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NudgeRun(Base):
    """One weekly slot of one community: sent once, or skipped with a reason."""

    __tablename__ = "nudge_runs"
    __table_args__ = (UniqueConstraint("community_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    slot: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20))  # sent, skipped
    reason: Mapped[str | None] = mapped_column(Text)
    prompt_id: Mapped[int | None] = mapped_column(ForeignKey("nudge_prompts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A message the bot owes Slack, written with the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # card, introduction, nudge, reminder, notice...
    method: Mapped[str] = mapped_column(String(40), default="chat.postMessage")
    channel: Mapped[str | None] = mapped_column(String(64))
    # A reply waits for its parent (e.g. an introduction for its want's card) to be delivered.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    introduction_id: Mapped[int | None] = mapped_column(
        ForeignKey("introductions.id", ondelete="SET NULL")
    )
    status: Mapped[OutboxStatus] = mapped_column(
        _enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set when an attempt's outcome is unknown (timeout, dropped connection): look before resending.
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_channel: Mapped[str | None] = mapped_column(String(64))
    sent_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """An administrative action: who did what, when, and what changed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # Slack user id, or "cli"
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(120))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PendingPost(Base):
    """A post kept while its author joins (chooses a council); published once they have."""

    __tablename__ = "pending_posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    slack_team_id: Mapped[str] = mapped_column(String(32), default="")
    slack_user_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind, "post_kind"))
    text: Mapped[str] = mapped_column(Text)
    area: Mapped[str | None] = mapped_column(String(4))
    purpose: Mapped[str | None] = mapped_column(String(20))
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntakeRequest(Base):
    """A signed Slack request as it arrived, stored before the ack.

    Every signed request gets a row: its signature is unique, so a second copy is a replay. A
    request with work to do after the ack (a ``job``: publishing a post) keeps its body until a
    posting process has done that work, in the same transaction as the work's own changes."""

    __tablename__ = "intake"
    __table_args__ = (Index("ix_intake_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The signature covers the timestamp and the body, so it names the request on its own.
    # Socket Mode carries none: its requests have no key.
    request_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    request_ts: Mapped[int] = mapped_column(Integer, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    job: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # seen (a replay record only), pending (work to do), done, failed
    status: Mapped[str] = mapped_column(String(10), default="seen")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
