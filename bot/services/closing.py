"""Closing posts (fulfilled, withdrawn), keeping them open, and what a fulfilled want saved."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.clock import utcnow
from bot.kernel.errors import InvalidInput, NotFound
from bot.kernel.settings import Settings
from bot.kernel.text import clean_post_text
from bot.kernel.vocabulary import IntroductionStatus, PostKind, PostStatus
from bot.live_index import LiveMatchIndex
from bot.outbox import enqueue as outbox
from bot.services.context import ServiceContext, member_of
from bot.services.posting import check_room, lock_member
from bot.services.views import post_view
from bot.slack import posts as post_messages
from bot.slack.views import PostView
from storage.db import after_commit
from storage.models import Introduction, Member, Outcome, Post

MAX_DAYS_SAVED = 5000


def own_post(session: Session, member: Member | None, post_id: int | None) -> Post:
    """One of the member's own posts; NotFound for anyone else's (or none)."""
    post = session.get(Post, post_id) if post_id is not None else None
    if post is None or member is None or post.member_id != member.id:
        raise NotFound(
            f"You have no post #{post_id}."
            if post_id is not None
            else "That isn't one of your posts."
        )
    return post


def set_status(
    session: Session, post: Post, status: PostStatus, *, now: datetime | None = None
) -> None:
    """Change a post's status and owe Slack the updated card."""
    now = now or utcnow()
    post.status = status
    post.changed_at = now
    post.closed_at = None if status == PostStatus.OPEN else now
    session.flush()
    owe_card(session, post)


def owe_card(session: Session, post: Post) -> None:
    """Owe Slack the post's card as it now is: a card not yet sent goes out as it is now; a sent
    one is updated in place."""
    card = outbox.card_message(session, post.id)
    if card is None:
        return
    payload = post_messages.card(post_view(post))
    outbox.owe_as_now(session, card, payload, update_kind="card_update", post_id=post.id)


def close_post(
    session: Session,
    member: Member | None,
    post_id: int | None,
    status: PostStatus,
    *,
    matcher: LiveMatchIndex | None = None,
    now: datetime | None = None,
) -> Post:
    """The owner closes their post as fulfilled or withdrawn."""
    post = own_post(session, member, post_id)
    if post.status != PostStatus.OPEN:
        raise InvalidInput(f"{post.kind.capitalize()} #{post.id} is already {post.status}.")
    if status == PostStatus.FULFILLED and post.kind != PostKind.WANT:
        status = PostStatus.WITHDRAWN  # an offer is simply closed
    set_status(session, post, status, now=now)
    if matcher is not None:
        closed_id = post.id
        after_commit(session, lambda: matcher.remove(closed_id))
    return post


def keep_open(
    session: Session, member: Member, post_id: int, *, settings: Settings, now: datetime
) -> Post:
    """ "Still needed": the owner keeps their post for another expiry period (reopening it if it
    has just expired)."""
    lock_member(session, member)  # serialise with publishing and a second press of the button
    post = session.get(Post, post_id, populate_existing=True)
    if post is None or post.member_id != member.id:
        raise NotFound(f"You have no post #{post_id}.")
    if post.status not in (PostStatus.OPEN, PostStatus.EXPIRED):
        raise InvalidInput(
            f"{post.kind.capitalize()} #{post.id} is already {post.status}, so "
            f"it can't be kept open. Post it again if you need to."
        )
    if post.status == PostStatus.EXPIRED:
        # Reopening counts against the open-post limit, as publishing a new post does.
        check_room(session, member, post.kind, limit=settings.max_open_posts, lock=False)
    post.expires_at = now + timedelta(days=settings.expiry_days)
    post.refreshed_at = now
    post.reminded_at = None
    set_status(session, post, PostStatus.OPEN, now=now)  # re-renders the card with its new date
    return post


def check_days_saved(days: float | None) -> None:
    """InvalidInput unless ``days`` is a plausible number of working days (or none)."""
    if days is not None and not (0 <= days <= MAX_DAYS_SAVED):
        raise InvalidInput(f"Days saved must be between 0 and {MAX_DAYS_SAVED:,}.", field="days")


def record_outcome(
    session: Session,
    member: Member,
    post_id: int,
    *,
    days: float | None,
    note: str | None,
    share_note: bool = False,  # the member agreed sponsors may read the note
) -> Outcome:
    """What a fulfilled want saved, in days and words."""
    post = session.get(Post, post_id)
    if post is None or post.member_id != member.id:
        raise NotFound(f"You have no want #{post_id}.")
    check_days_saved(days)
    note = clean_post_text(note or "")[:1000] or None
    outcome = session.scalar(select(Outcome).where(Outcome.post_id == post_id))
    if outcome is None:
        outcome = Outcome(post_id=post_id, recorded_by_id=member.id)
        session.add(outcome)
    confirmed = session.scalar(
        select(Introduction.id)
        .where(Introduction.want_id == post_id, Introduction.status == IntroductionStatus.CONFIRMED)
        .order_by(Introduction.id.desc())
        .limit(1)
    )
    outcome.days_saved, outcome.note, outcome.introduction_id = days, note, confirmed
    outcome.share_note = bool(share_note and note)
    session.flush()
    return outcome


class ClosingService:
    """Closing and keeping posts as the Slack handlers need it: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def own_post(self, team_id: str, user_id: str, post_id: int | None) -> PostView:
        """One of the member's own posts; NotFound for anyone else's."""
        with self.context.reading() as session:
            return post_view(own_post(session, member_of(session, team_id, user_id), post_id))

    def close(
        self, team_id: str, user_id: str, post_id: int | None, status: PostStatus
    ) -> PostView:
        """The owner closes their post as fulfilled or withdrawn."""
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            post = close_post(
                session,
                member,
                post_id,
                status,
                matcher=self.context.live_index,
                now=self.context.clock(),
            )
            return post_view(post)

    def keep_open(self, team_id: str, user_id: str, post_id: int | None) -> PostView:
        """ "Still needed": keep the member's post open for another period."""
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            if member is None or post_id is None:
                raise NotFound("That isn't one of your posts.")
            post = keep_open(
                session, member, post_id, settings=self.context.settings, now=self.context.clock()
            )
            view = post_view(post)
            live_index = self.context.live_index
            after_commit(session, lambda: live_index.add(post))  # back in the index if expired
            return view

    def record_outcome(
        self,
        team_id: str,
        user_id: str,
        post_id: int,
        *,
        days: float | None,
        note: str | None,
        share_note: bool = False,
    ) -> None:
        """What the member's fulfilled want saved (``share_note``: sponsors may read the note)."""
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            if member is None:
                raise NotFound(f"You have no want #{post_id}.")
            record_outcome(session, member, post_id, days=days, note=note, share_note=share_note)
