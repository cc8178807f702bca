"""The retention period: the content of posts closed long ago is purged by the worker."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.settings import Settings
from bot.kernel.vocabulary import OutboxStatus, PostStatus
from bot.services.privacy import CLEARED, ERASED_TEXT, clear_sent_payloads
from storage.models import Introduction, OutboxMessage, Outcome, PendingPost, Post

logger = logging.getLogger(__name__)

PURGED_TEXT = "(removed after the retention period)"
_BATCH = 200


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
            clear_sent_payloads(session, chunk, intro_ids)
    with session_factory.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status != OutboxStatus.PENDING, OutboxMessage.created_at < cutoff)
            .values(payload=CLEARED)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(PendingPost).where(PendingPost.created_at < cutoff))
    if purged:
        logger.info("Purged %d posts closed before %s", purged, cutoff.date())
    return purged
