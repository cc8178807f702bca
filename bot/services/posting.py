"""Posting wants and offers: checking what was typed, the open-post limit, storing, the card.

``publish_post`` is the rule book for a new post; ``PostingService`` is what the Slack handlers
call: it owns its transactions and answers with view objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.kernel.clock import utcnow
from bot.kernel.errors import InvalidInput, NeedsCouncil, PostLimitReached
from bot.kernel.links import validate_link
from bot.kernel.settings import Settings
from bot.kernel.text import clean_post_text, has_visible_text, visible_length
from bot.kernel.vocabulary import KNOWLEDGE_AREAS, PURPOSES, PostKind, PostStatus
from bot.live_index import LiveMatchIndex
from bot.matching import Match, PostForMatching
from bot.outbox import enqueue as outbox
from bot.reports.outputs import service_area_of
from bot.runtime.intake import Ticket
from bot.services import introductions
from bot.services import sessions as market_sessions
from bot.services.context import ServiceContext, member_of
from bot.services.views import introduction_view, post_view
from bot.slack import posts as post_messages
from bot.slack.views import PublishedView
from storage import queries
from storage.db import after_commit
from storage.models import Introduction, Member, OutboxMessage, PendingPost, Post

logger = logging.getLogger(__name__)

# The poster sees at most this many weaker candidates besides their introductions.
MAX_CANDIDATES_SHOWN = 3
# The id a post is matched under before it is stored (no stored post has it).
NEW_POST_ID = -1


@dataclass(frozen=True)
class Draft:
    """A post as a member typed it, checked and cleaned, not yet stored."""

    kind: PostKind
    text: str
    area: str | None = None
    purpose: str | None = None
    link: str | None = None


# ---------------------------------------------------------------- checking what was typed


def validate_post_fields(
    text: str,
    *,
    max_length: int,
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
) -> tuple[str, str | None, str | None, str | None]:
    """Clean and check what a member typed; raises InvalidInput naming the field at fault."""
    text = clean_post_text(text)
    if not has_visible_text(text):
        raise InvalidInput(
            "Please say what you need or can share: the text is empty.", field="text"
        )
    length = visible_length(text)
    if length > max_length:
        raise InvalidInput(
            f"That is {length:,} characters; a post can be at most {max_length:,}. "
            f"Please shorten it (you can add a link to a longer document).",
            field="text",
        )
    if length < 3:
        raise InvalidInput("That is too short to match on. Please say a little more.", field="text")
    area = (area or "").strip().upper() or None
    if area is not None and area not in KNOWLEDGE_AREAS:
        raise InvalidInput(
            "Knowledge area must be one of " + ", ".join(KNOWLEDGE_AREAS) + ".", field="area"
        )
    purpose = (purpose or "").strip().lower() or None
    if purpose is not None and purpose not in PURPOSES:
        raise InvalidInput("Purpose must be one of " + ", ".join(PURPOSES) + ".", field="purpose")
    link = (link or "").strip() or None
    if link is not None:
        link = validate_link(link)
    return text, area, purpose, link


def draft(
    kind: PostKind,
    text: str,
    *,
    settings: Settings,
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
) -> Draft:
    """A checked, cleaned draft of a post; raises InvalidInput naming the field at fault."""
    text, area, purpose, link = validate_post_fields(
        text, max_length=settings.max_post_length, area=area, purpose=purpose, link=link
    )
    return Draft(kind, text, area, purpose, link)


# ---------------------------------------------------------------- the open-post limit


def lock_member(session: Session, member: Member) -> None:
    """Serialise this member's changes (one device or two): a no-op write takes the row lock."""
    session.execute(update(Member).where(Member.id == member.id).values(id=Member.id))


def check_room(
    session: Session, member: Member, kind: PostKind, *, limit: int, lock: bool = True
) -> None:
    """Raise PostLimitReached if the member already has ``limit`` open posts of this kind (the
    flip chart's top five); with ``lock``, the member stays locked until the transaction ends."""
    if lock:
        lock_member(session, member)
    open_now = queries.open_posts_of(session, member.id, kind)
    if len(open_now) >= limit:
        raise PostLimitReached(str(kind), limit, [post_view(p) for p in open_now])


# ---------------------------------------------------------------- publishing


@dataclass
class PublishResult:
    """A new post, the introductions it made and the weaker candidates shown only to its poster."""

    post: Post
    introductions: list[Introduction]
    candidates: list[tuple[Post, int]]
    # The matched posts, loaded with their authors in one go (kept so the session keeps them).
    loaded: list[Post] = field(default_factory=list)
    held: list[Introduction] = field(default_factory=list)  # someone is away: made on return


@dataclass(frozen=True)
class MatchPlan:
    """A new post's matches, found before its write transaction; ``version`` is the index's
    version they were found at (a change since means they are found again, under the lock)."""

    strong: list[Match]
    weaker: list[Match]
    version: int
    service_area: str | None = None  # the LGSL service area it is about (classified here too)


def plan_matches(
    session: Session, member: Member, new: Draft, matcher: LiveMatchIndex
) -> MatchPlan:
    """Find a new post's matches outside any write transaction: the slow part of posting (the
    search at 100,000 open posts) then never holds the database's write lock."""
    matcher.refresh(session)
    version = matcher.version
    probe = PostForMatching(
        id=NEW_POST_ID,
        kind=str(new.kind),
        council_id=member.council_id or -1,
        text=new.text,
        area=new.area,
    )
    strong, weaker = matcher.strong_and_weak_for(probe)
    return MatchPlan(strong, weaker, version, service_area_of(new.text, matcher.glossary))


def _as_post(matches: list[Match], post_id: int) -> list[Match]:
    """Matches found for the probe, naming the stored post instead."""
    return [
        replace(
            m,
            want_id=post_id if m.want_id == NEW_POST_ID else m.want_id,
            offer_id=post_id if m.offer_id == NEW_POST_ID else m.offer_id,
        )
        for m in matches
    ]


def publish_post(
    session: Session,
    member: Member,
    kind: PostKind,
    text: str,
    *,
    settings: Settings,
    matcher: LiveMatchIndex,
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
    now: datetime | None = None,
    help_for: int | None = None,
    plan: MatchPlan | None = None,
) -> PublishResult:
    """Store a new want or offer, introduce strong matches and owe Slack its card.

    With a ``plan`` (matches found before this transaction), the index is only brought up to
    date here; if anything changed since the plan, the matches are found again, so a post that
    arrived in between is never missed."""
    if member.council_id is None:
        raise NeedsCouncil()
    text, area, purpose, link = validate_post_fields(
        text, max_length=settings.max_post_length, area=area, purpose=purpose, link=link
    )
    check_room(session, member, kind, limit=settings.max_open_posts)
    # Bring the index up to date before this post exists, so an uncommitted post never enters it.
    draft_post = Draft(kind, text, area, purpose, link)
    matcher.refresh(session)
    if plan is None or plan.version != matcher.version:
        plan = plan_matches(session, member, draft_post, matcher)
    post = _store(session, member, draft_post, settings, now)
    post.service_area = plan.service_area
    card = _owe_card(session, post, settings.marketplace_channel)
    strong, weaker = _as_post(plan.strong, post.id), _as_post(plan.weaker, post.id)
    # The matched posts and their authors in one query, not one lazy load each.
    found = plan.strong + plan.weaker
    # Held until the result is rendered: the session only keeps weak references to them.
    matched = queries.posts_with_authors(
        session, {m.want_id for m in found} | {m.offer_id for m in found}
    )
    made = introductions.introduce_matches(
        session, strong, settings=settings, new_post=post, new_card=card
    )
    if help_for is not None:
        asked = introductions.introduce_on_request(
            session, post, help_for, made_by=member, settings=settings, matcher=matcher
        )
        if asked is not None and asked.held_at is None and asked not in made:
            made.append(asked)  # held (someone away): introduced on their return, not now
    # Live marketplace sessions: the post's service area, its session, the board
    market_sessions.on_post_published(session, post, now=now)
    candidates = _candidates(session, post, weaker, made)
    held = list(
        session.scalars(
            select(Introduction).where(
                or_(Introduction.want_id == post.id, Introduction.offer_id == post.id),
                Introduction.held_at.is_not(None),
            )
        )
    )
    after_commit(session, lambda: matcher.add(post, strong + weaker))
    return PublishResult(post, made, candidates[:MAX_CANDIDATES_SHOWN], matched, held)


def _store(
    session: Session, member: Member, new: Draft, settings: Settings, now: datetime | None
) -> Post:
    now = now or utcnow()
    post = Post(
        kind=new.kind,
        member_id=member.id,
        council_id=member.council_id,
        text=new.text,
        area=new.area,
        purpose=new.purpose,
        link=new.link,
        status=PostStatus.OPEN,
        source="slack",
        created_at=now,
        refreshed_at=now,
        expires_at=now + timedelta(days=settings.expiry_days),
        changed_at=now,
    )
    session.add(post)
    session.flush()
    return post


def _owe_card(session: Session, post: Post, channel: str) -> OutboxMessage:
    return outbox.enqueue(
        session,
        kind="card",
        channel=channel,
        payload=post_messages.card(post_view(post)),
        post_id=post.id,
        dedupe_key=f"card:{post.id}",
        new_cause=True,
    )


def _candidates(
    session: Session, post: Post, weaker: list[Match], made: list[Introduction]
) -> list[tuple[Post, int]]:
    """The weaker matches not already introduced, as (post, score)."""
    want_side = post.kind == PostKind.WANT
    introduced = {i.offer_id if want_side else i.want_id for i in made}
    found: list[tuple[Post, int]] = []
    for m in weaker:
        other_id = m.offer_id if want_side else m.want_id
        if other_id in introduced:
            continue
        other = session.get(Post, other_id)
        if other is not None:
            found.append((other, m.score))
    return found


def published_view(session: Session, result: PublishResult) -> PublishedView:
    """What the poster is told about their new post."""
    return PublishedView(
        post=post_view(result.post),
        introduced=tuple(introduction_view(i, session) for i in result.introductions),
        candidates=tuple((post_view(p), s) for p, s in result.candidates),
        held=tuple(introduction_view(i, session) for i in result.held),
    )


# ---------------------------------------------------------------- posts kept while joining


def keep_pending(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    kind: PostKind,
    text: str,
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
) -> PendingPost:
    """Keep a post while its author tells us their council."""
    pending = PendingPost(
        slack_team_id=team_id,
        slack_user_id=user_id,
        kind=kind,
        text=text,
        area=area,
        purpose=purpose,
        link=link,
    )
    session.add(pending)
    session.flush()
    return pending


def take_pending(session: Session, team_id: str, user_id: str) -> list[PendingPost]:
    """The posts kept for a member who has now joined, removed from the waiting list."""
    rows = list(
        session.scalars(
            select(PendingPost)
            .where(PendingPost.slack_team_id == team_id, PendingPost.slack_user_id == user_id)
            .order_by(PendingPost.id)
        )
    )
    for row in rows:
        session.delete(row)
    session.flush()
    return rows


def take_drafts(session: Session, team_id: str, user_id: str) -> list[Draft]:
    """As ``take_pending``, as drafts ready to publish."""
    return [
        Draft(p.kind, p.text, p.area, p.purpose, p.link)
        for p in take_pending(session, team_id, user_id)
    ]


# ---------------------------------------------------------------- for the Slack handlers


class PostingService:
    """Posting as the Slack handlers need it: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def draft(
        self,
        kind: PostKind,
        text: str,
        *,
        area: str | None = None,
        purpose: str | None = None,
        link: str | None = None,
    ) -> Draft:
        """Check and clean what a member typed (no database); InvalidInput names the field."""
        return draft(
            kind, text, settings=self.context.settings, area=area, purpose=purpose, link=link
        )

    def has_joined(self, team_id: str, user_id: str) -> bool:
        """Whether this Slack user has told us their council."""
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            return member is not None and member.council_id is not None

    def check_room(self, team_id: str, user_id: str, kind: PostKind) -> None:
        """PostLimitReached if the member already has the most open posts of this kind (a check
        before the form closes; publishing checks again under the member's lock)."""
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            if member is not None:
                limit = self.context.settings.max_open_posts
                check_room(session, member, kind, limit=limit, lock=False)

    def keep_until_joined(
        self,
        team_id: str,
        user_id: str,
        new: Draft,
        *,
        ticket: Ticket | None = None,
        response_url: str | None = None,
        message: dict[str, Any] | None = None,
    ) -> int:
        """Keep a post while its author joins; returns its place on the waiting list. With a
        ticket, its request is marked done (and ``message`` owed) in the same transaction."""
        with self.context.session_factory.begin() as session:
            if ticket is not None:
                ticket.finish(session)
            if message is not None:
                if response_url:
                    outbox.respond(session, response_url, message)
                else:
                    outbox.notify_user(session, user_id, message)
            pending = keep_pending(
                session,
                team_id=team_id,
                user_id=user_id,
                kind=new.kind,
                text=new.text,
                area=new.area,
                purpose=new.purpose,
                link=new.link,
            )
            return pending.id

    def publish(
        self,
        team_id: str,
        user_id: str,
        new: Draft,
        *,
        help_for: int | None = None,
        confirm_by_dm: bool = False,
        ticket: Ticket | None = None,
        response_url: str | None = None,
    ) -> PublishedView:
        """Publish a joined member's post.

        Its matches are found first, in a read-only transaction; then one short write
        transaction stores the post, its card, its introductions and the member's confirmation:
        by direct message with ``confirm_by_dm``, or on the command's ``response_url``. With a
        ``ticket`` (a stored request from the intake) that transaction also marks the request
        done, so a crash at any point means it is published exactly once."""
        settings = self.context.settings
        matcher = self.context.live_index
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            if member is None or member.council_id is None:
                raise NeedsCouncil()
            plan = plan_matches(session, member, new, matcher)
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            if member is None:
                raise NeedsCouncil()
            result = publish_post(
                session,
                member,
                new.kind,
                new.text,
                settings=settings,
                matcher=matcher,
                area=new.area,
                purpose=new.purpose,
                link=new.link,
                now=self.context.clock(),
                help_for=help_for,
                plan=plan,
            )
            published = published_view(session, result)
            confirmation = post_messages.post_confirmation(published, settings.marketplace_channel)
            if response_url:
                outbox.respond(session, response_url, confirmation, kind="confirmation")
            elif confirm_by_dm:
                outbox.notify_member(session, member, confirmation, kind="confirmation")
            if ticket is not None:
                ticket.finish(session)
            market_id = result.post.session_id
        if market_id is not None:
            self._refresh_board(market_id)
        return published

    def _refresh_board(self, market_id: int) -> None:
        """The live session's board, after the post is safely stored: a failure here loses
        no post (the next post, or the session's end, brings the board up to date)."""
        try:
            market_sessions.refresh_board_after(
                self.context.reading, self.context.session_factory, market_id, self.context.clock()
            )
        except SQLAlchemyError:
            logger.exception("Could not update the board of live session %s", market_id)

    def answer(
        self,
        ticket: Ticket | None,
        message: dict[str, Any],
        *,
        response_url: str | None = None,
        user_id: str | None = None,
        failed: bool = False,
    ) -> None:
        """Owe a member a reply (on the response URL, or by DM) and, with a ticket, mark its
        request done in the same transaction: the reply is sent once, however often we crash."""
        with self.context.session_factory.begin() as session:
            if response_url:
                outbox.respond(session, response_url, message)
            elif user_id:
                outbox.notify_user(session, user_id, message)
            if ticket is not None:
                ticket.finish(session, failed=failed)

    def tell(self, user_id: str, message: dict[str, Any]) -> None:
        """Owe a Slack user a direct message."""
        with self.context.session_factory.begin() as session:
            outbox.notify_user(session, user_id, message)
