"""Keeping the market fresh: expiry reminders, expiry, "still needed" and the weekly digest."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.kernel.settings import Settings
from bot.outbox import enqueue as outbox
from bot.reports.follow_ups import follow_up_rates
from bot.services.closing import set_status
from bot.services.nudges import weekly_slot_before
from bot.services.views import is_away, post_view
from bot.slack import reminders as reminder_messages
from bot.slack.followups import digest_rates
from storage.models import (
    Introduction,
    IntroductionStatus,
    Member,
    OutboxMessage,
    Post,
    PostStatus,
)

logger = logging.getLogger(__name__)

DIGEST_WEEKDAY = 0  # Monday
DIGEST_TIME = "09:00"
_BATCH = 500


def _min_notice(settings: Settings) -> timedelta:
    # However late the reminder goes (a worker that was down), the owner gets this long to answer.
    return timedelta(days=settings.reminder_days_before) / 2


def _can_dm(member: Member | None) -> bool:
    return bool(member and member.slack_user_id and member.erased_at is None)


def send_expiry_reminders(
    session_factory: sessionmaker[Session], *, settings: Settings, now: datetime
) -> int:
    """DM the owner of every open post that expires soon and has not been reminded; how many."""
    horizon = now + timedelta(days=settings.reminder_days_before)
    with session_factory() as session:
        post_ids = list(
            session.scalars(
                select(Post.id)
                .where(
                    Post.status == PostStatus.OPEN,
                    Post.expires_at <= horizon,
                    Post.reminded_at.is_(None),
                )
                .order_by(Post.expires_at, Post.id)
                .limit(_BATCH)
            )
        )
    sent = 0
    for post_id in post_ids:
        try:
            with session_factory.begin() as session:
                if _remind(session, post_id, settings=settings, now=now, horizon=horizon):
                    sent += 1
        except IntegrityError:
            logger.info("Post %s: another worker sent its reminder", post_id)
    if sent:
        logger.info("Sent %d expiry reminder(s)", sent)
    return sent


def _remind(
    session: Session, post_id: int, *, settings: Settings, now: datetime, horizon: datetime
) -> bool:
    post = session.get(Post, post_id)
    if (
        post is None
        or post.status != PostStatus.OPEN
        or post.reminded_at is not None
        or post.expires_at > horizon
    ):
        return False  # changed since we looked
    if post.member is not None and is_away(post.member, now):
        return False  # away: reminded when back (the post waits, as it never expires unasked)
    post.reminded_at = now
    if not _can_dm(post.member):
        return False  # e.g. imported from a workshop: nobody to ask, it simply expires
    if post.expires_at < now + _min_notice(settings):
        post.expires_at = now + _min_notice(settings)
        set_status(session, post, PostStatus.OPEN, now=now)  # the card shows the new date
    assert post.member is not None and post.member.slack_user_id
    outbox.enqueue(
        session,
        kind="reminder",
        channel=post.member.slack_user_id,
        payload=reminder_messages.expiry_reminder(post_view(post)),
        post_id=post.id,
        dedupe_key=f"reminder:{post.id}:{post.expires_at.isoformat()}",
    )
    return True


def expire_posts(
    session_factory: sessionmaker[Session], *, settings: Settings, now: datetime
) -> int:
    """Close every open post past its date (after its owner was reminded); how many expired."""
    with session_factory() as session:
        post_ids = list(
            session.scalars(
                select(Post.id)
                .where(Post.status == PostStatus.OPEN, Post.expires_at <= now)
                .order_by(Post.expires_at, Post.id)
                .limit(_BATCH)
            )
        )
    expired = 0
    for post_id in post_ids:
        try:
            with session_factory.begin() as session:
                if _expire(session, post_id, now=now):
                    expired += 1
        except IntegrityError:
            logger.info("Post %s: another worker expired it", post_id)
    if expired:
        logger.info("Expired %d post(s)", expired)
    return expired


def _expire(session: Session, post_id: int, *, now: datetime) -> bool:
    post = session.get(Post, post_id)
    if post is None or post.status != PostStatus.OPEN or post.expires_at > now:
        return False
    if post.reminded_at is None and _can_dm(post.member):
        return False  # never expire a post whose owner has not been asked first
    expires_at = post.expires_at
    set_status(session, post, PostStatus.EXPIRED, now=now)
    if _can_dm(post.member):
        assert post.member is not None and post.member.slack_user_id
        outbox.enqueue(
            session,
            kind="expired",
            channel=post.member.slack_user_id,
            payload=reminder_messages.expired_notice(post_view(post)),
            post_id=post.id,
            dedupe_key=f"expired:{post.id}:{expires_at.isoformat()}",
        )
    return True


# ---------------------------------------------------------------- the weekly digest


def digest_slot(settings: Settings, now: datetime) -> datetime:
    """The latest Monday 09:00 (in the network's time zone) at or before ``now``, in UTC."""
    return weekly_slot_before(
        now, weekday=DIGEST_WEEKDAY, time_of_day=DIGEST_TIME, timezone=settings.timezone
    )


def send_weekly_digest(
    session_factory: sessionmaker[Session], *, settings: Settings, now: datetime
) -> bool:
    """Owe the marketplace channel this week's digest, once; False if not due or already owed."""
    slot = digest_slot(settings, now)
    if now - slot > timedelta(minutes=settings.nudge_grace_minutes):
        return False  # this week's went (or was missed): wait for next Monday
    week_of = slot.astimezone(ZoneInfo(settings.timezone))
    key = f"digest:{week_of.date().isoformat()}"
    try:
        with session_factory.begin() as session:
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
                return False
            since = slot - timedelta(days=7)
            confirmed = exists().where(
                (Introduction.want_id == Post.id) | (Introduction.offer_id == Post.id),
                Introduction.status == IntroductionStatus.CONFIRMED,
            )
            new_where = (Post.status == PostStatus.OPEN, Post.created_at >= since)
            old_where = (Post.status == PostStatus.OPEN, Post.created_at < since, ~confirmed)
            new_posts, more_new = _some(session, new_where)
            unmatched, more_unmatched = _some(session, old_where)
            payload = reminder_messages.weekly_digest(
                week_of,
                [post_view(p) for p in new_posts],
                [post_view(p) for p in unmatched],
                more_new=more_new,
                more_unmatched=more_unmatched,
            )
            # What became of the week's follow-ups
            rates = follow_up_rates(session, since=since)
            if rates.followed_up:
                payload["blocks"].append(digest_rates(rates))
            outbox.enqueue(
                session,
                kind="digest",
                channel=settings.marketplace_channel,
                payload=payload,
                dedupe_key=key,
            )
    except IntegrityError:
        return False  # another worker owed it first
    logger.info(
        "Weekly digest owed: %d new, %d waiting for a match",
        len(new_posts) + more_new,
        len(unmatched) + more_unmatched,
    )
    return True


def _some(session: Session, where: tuple[Any, ...]) -> tuple[list[Post], int]:
    """The first few posts matching ``where`` (oldest first) and how many more there are."""
    total = int(session.scalar(select(func.count()).select_from(Post).where(*where)) or 0)
    posts = list(
        session.scalars(
            select(Post)
            .where(*where)
            .options(selectinload(Post.member), selectinload(Post.council))
            .order_by(Post.created_at, Post.id)
            .limit(reminder_messages.MAX_POSTS_IN_DIGEST)
        )
    )
    return posts, total - len(posts)
