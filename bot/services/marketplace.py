"""The marketplace: posting wants and offers, introductions, closing and outcomes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.errors import InvalidInput, NeedsCouncil, NotAllowed, NotFound, PostLimitReached
from bot.kernel.settings import KNOWLEDGE_AREAS, PURPOSES, Settings
from bot.kernel.text import clean_post_text, has_visible_text, visible_length
from bot.live_index import MarketMatcher
from bot.outbox import enqueue as outbox
from bot.slack import blocks
from bot.slack.blocks import IntroductionView, PostView
from storage import queries
from storage.models import (
    Introduction,
    IntroductionStatus,
    Member,
    OutboxMessage,
    OutboxStatus,
    Outcome,
    PendingPost,
    Post,
    PostKind,
    PostStatus,
    utcnow,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProposedIntroduction:
    """An introduction the bot would make, with what a person needs to judge it."""

    want: Post
    offer: Post
    score: int
    reasons: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The interface contract's shape for ``kmbot matches --json``."""
        return {
            "want": {"id": self.want.id, "council": self.want.council.name, "text": self.want.text},
            "offer": {
                "id": self.offer.id,
                "council": self.offer.council.name,
                "text": self.offer.text,
            },
            "score": self.score,
        }


def proposed_introductions(session: Session, matcher: MarketMatcher) -> list[ProposedIntroduction]:
    """The introductions the bot would make now for the open posts in the store."""
    matcher.refresh(session)
    found = matcher.all_matches(session)
    posts = {
        p.id: p
        for p in session.query(Post).filter(
            Post.id.in_({m.want_id for m in found} | {m.offer_id for m in found})
        )
    }
    return [
        ProposedIntroduction(posts[m.want_id], posts[m.offer_id], m.score, m.reasons) for m in found
    ]


# ---------------------------------------------------------------- views of stored things


def post_view(post: Post) -> PostView:
    """What the builders need to show a stored post."""
    member = post.member
    return PostView(
        id=post.id,
        kind=str(post.kind),
        text=post.text,
        council=post.council.name,
        author_name=member.name if member else None,
        author_slack_id=member.slack_user_id if member else None,
        author_email=member.email if member else None,
        area=post.area,
        purpose=post.purpose,
        link=post.link,
        status=str(post.status),
        expires_at=post.expires_at,
    )


def introduction_view(intro: Introduction, session: Session) -> IntroductionView:
    """What the builders need to show a stored introduction."""
    answered = session.get(Member, intro.answered_by_id) if intro.answered_by_id else None
    return IntroductionView(
        id=intro.id,
        want=post_view(intro.want),
        offer=post_view(intro.offer),
        score=intro.score,
        reasons=tuple(intro.reasons or ()),
        status=str(intro.status),
        manual=intro.manual,
        answered_by=answered.slack_user_id if answered else None,
    )


# ---------------------------------------------------------------- members


def lock_member(session: Session, member: Member) -> None:
    """Serialise this member's changes (one device or two): a no-op write takes the row lock."""
    session.execute(update(Member).where(Member.id == member.id).values(id=Member.id))


# ---------------------------------------------------------------- posting


@dataclass
class PublishResult:
    """A new post, the introductions it made and the weaker candidates shown only to its poster."""

    post: Post
    introductions: list[Introduction]
    candidates: list[tuple[Post, int]]


def validate_post_fields(
    text: str,
    *,
    max_length: int,
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
) -> tuple[str, str | None, str | None, str | None]:
    """Clean and check what a member typed; raises InvalidInput with a specific message."""
    text = clean_post_text(text)
    if not has_visible_text(text):
        raise InvalidInput("Please say what you need or can share: the text is empty.")
    length = visible_length(text)
    if length > max_length:
        raise InvalidInput(
            f"That is {length:,} characters; a post can be at most {max_length:,}. "
            f"Please shorten it (you can add a link to a longer document)."
        )
    if length < 3:
        raise InvalidInput("That is too short to match on. Please say a little more.")
    area = (area or "").strip().upper() or None
    if area is not None and area not in KNOWLEDGE_AREAS:
        raise InvalidInput("Knowledge area must be one of " + ", ".join(KNOWLEDGE_AREAS) + ".")
    purpose = (purpose or "").strip().lower() or None
    if purpose is not None and purpose not in PURPOSES:
        raise InvalidInput("Purpose must be one of " + ", ".join(PURPOSES) + ".")
    link = (link or "").strip() or None
    if link is not None:
        link = validate_link(link)
    return text, area, purpose, link


def validate_link(link: str) -> str:
    """An http(s) link of sensible length, or InvalidInput."""
    parsed = urlparse(link)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        raise InvalidInput("Links must start with http:// or https://.")
    if len(link) > 500:
        raise InvalidInput("That link is too long (500 characters at most).")
    if any(ch in link for ch in "<>| \n"):
        raise InvalidInput("That link contains characters a web address cannot have.")
    return link


def publish_post(
    session: Session,
    member: Member,
    kind: PostKind,
    text: str,
    *,
    settings: Settings,
    matcher: MarketMatcher,
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
    now: datetime | None = None,
    help_for: int | None = None,
) -> PublishResult:
    """Store a new want or offer, introduce strong matches and owe Slack its card."""
    if member.council_id is None:
        raise NeedsCouncil()
    text, area, purpose, link = validate_post_fields(
        text, max_length=settings.max_post_length, area=area, purpose=purpose, link=link
    )
    lock_member(session, member)
    open_now = queries.open_posts_of(session, member.id, kind)
    if len(open_now) >= settings.max_open_posts:
        raise PostLimitReached(str(kind), settings.max_open_posts, [post_view(p) for p in open_now])
    now = now or utcnow()
    post = Post(
        kind=kind,
        member_id=member.id,
        council_id=member.council_id,
        text=text,
        area=area,
        purpose=purpose,
        link=link,
        status=PostStatus.OPEN,
        source="slack",
        created_at=now,
        refreshed_at=now,
        expires_at=now + timedelta(days=settings.expiry_days),
        changed_at=now,
    )
    # Bring the index up to date before this post exists, so an uncommitted post never enters it.
    matcher.refresh(session)
    session.add(post)
    session.flush()
    card = outbox.enqueue(
        session,
        kind="card",
        channel=settings.marketplace_channel,
        payload=blocks.card(post_view(post)),
        post_id=post.id,
        dedupe_key=f"card:{post.id}",
    )
    strong, weaker = matcher.strong_and_weak(session, post)
    intros: list[Introduction] = []
    for m in strong:
        intro = _introduce(
            session,
            m.want_id,
            m.offer_id,
            m.score,
            m.reasons,
            settings=settings,
            new_card=card,
            new_post=post,
        )
        if intro is not None:
            intros.append(intro)
    if help_for is not None:
        other = session.get(Post, help_for)
        if other is not None and other.status == PostStatus.OPEN and other.kind != kind:
            want, offer = (post, other) if kind == PostKind.WANT else (other, post)
            intro = introduce_manually(
                session, want, offer, made_by=member, settings=settings, matcher=matcher
            )
            if intro is not None and intro not in intros:
                intros.append(intro)
    introduced_ids = {i.offer_id if kind == PostKind.WANT else i.want_id for i in intros}
    candidates: list[tuple[Post, int]] = []
    for m in weaker:
        other_id = m.offer_id if kind == PostKind.WANT else m.want_id
        if other_id in introduced_ids:
            continue
        other = session.get(Post, other_id)
        if other is not None:
            candidates.append((other, m.score))
    after_commit(session, lambda: matcher.add(post))
    return PublishResult(post, intros, candidates[:3])


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's transaction commits (never if it rolls back)."""

    def committed(_session: Session) -> None:
        event.remove(session, "after_soft_rollback", rolled_back)
        action()

    def rolled_back(_session: Session, _previous: Any) -> None:
        event.remove(session, "after_commit", committed)

    event.listen(session, "after_commit", committed, once=True)
    event.listen(session, "after_soft_rollback", rolled_back, once=True)


def introduce_missed(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    matcher: MarketMatcher,
    now: datetime,
    window: timedelta = timedelta(minutes=30),
) -> int:
    """Introduce recent posts that missed each other (two matching posts committed at the same
    instant cannot see each other); returns how many introductions were made."""
    made = 0
    with session_factory.begin() as session:
        matcher.refresh(session)
        recent = session.scalars(
            select(Post)
            .where(Post.status == PostStatus.OPEN, Post.created_at >= now - window)
            .order_by(Post.id)
        ).all()
        for post in recent:
            for m in matcher.matches_for(session, post):
                if (
                    _introduce(
                        session, m.want_id, m.offer_id, m.score, m.reasons, settings=settings
                    )
                    is not None
                ):
                    made += 1
    if made:
        logger.info("Introduced %d pair(s) that had missed each other", made)
    return made


def _introduce(
    session: Session,
    want_id: int,
    offer_id: int,
    score: int,
    reasons: tuple[str, ...],
    *,
    settings: Settings,
    manual: bool = False,
    made_by: Member | None = None,
    new_card: OutboxMessage | None = None,
    new_post: Post | None = None,
) -> Introduction | None:
    """Record an introduction and owe Slack its message; None if the pair was introduced already."""
    if (
        session.scalar(
            select(Introduction.id).where(
                Introduction.want_id == want_id, Introduction.offer_id == offer_id
            )
        )
        is not None
    ):
        return None
    intro = Introduction(
        want_id=want_id,
        offer_id=offer_id,
        score=score,
        reasons=list(reasons),
        status=IntroductionStatus.PROPOSED,
        manual=manual,
        made_by_id=made_by.id if made_by else None,
    )
    try:
        with session.begin_nested():
            session.add(intro)
            session.flush()
    except IntegrityError:
        # Another process introduced the same pair a moment ago.
        return None
    want = session.get(Post, want_id)
    assert want is not None
    payload = blocks.introduction(introduction_view(intro, session))
    parent: OutboxMessage | None = None
    channel: str | None = None
    thread_ts: str | None = None
    if new_post is not None and new_post.id == want_id and new_card is not None:
        parent = new_card
    elif want.card_ts:
        channel, thread_ts = want.card_channel, want.card_ts
    else:
        parent = outbox.card_message(session, want_id)
        if parent is None:
            channel = (
                settings.marketplace_channel
            )  # no card (e.g. from a workshop): post on its own
    outbox.enqueue(
        session,
        kind="introduction",
        channel=channel,
        thread_ts=thread_ts,
        parent=parent,
        payload=payload,
        introduction_id=intro.id,
        dedupe_key=f"intro:{intro.id}",
    )
    return intro


def introduce_manually(
    session: Session,
    want: Post,
    offer: Post,
    *,
    made_by: Member | None,
    settings: Settings,
    matcher: MarketMatcher,
) -> Introduction | None:
    """Introduce a chosen want and offer (a member's "I can help", or a facilitator)."""
    if want.kind != PostKind.WANT or offer.kind != PostKind.OFFER:
        raise InvalidInput("An introduction joins a want and an offer.")
    if want.status != PostStatus.OPEN or offer.status != PostStatus.OPEN:
        raise InvalidInput("Both posts must be open to introduce them.")
    if want.council_id == offer.council_id:
        raise InvalidInput("Those two posts are from the same council.")
    score, reasons = matcher.score_pair(want.text, offer.text)
    return _introduce(
        session, want.id, offer.id, score, reasons, settings=settings, manual=True, made_by=made_by
    )


def offer_help(
    session: Session, member: Member, post_id: int, *, settings: Settings, matcher: MarketMatcher
) -> Introduction | None:
    """ "I can help" / "I'm interested" on a card: introduce with the member's best open post.

    Returns None when the member has no open post of the other kind (the caller then asks them
    to post one).
    """
    target = session.get(Post, post_id)
    if target is None or target.status != PostStatus.OPEN:
        raise NotFound(f"Post #{post_id} is no longer open.")
    if member.council_id is None:
        raise NeedsCouncil()
    if target.council_id == member.council_id:
        raise InvalidInput("That post is from your own council, so there's no one to introduce.")
    other_kind = PostKind.OFFER if target.kind == PostKind.WANT else PostKind.WANT
    mine = queries.open_posts_of(session, member.id, other_kind)
    if not mine:
        return None
    best = max(
        mine,
        key=lambda p: matcher.score_pair(
            target.text if target.kind == PostKind.WANT else p.text,
            p.text if target.kind == PostKind.WANT else target.text,
        )[0],
    )
    want, offer = (target, best) if target.kind == PostKind.WANT else (best, target)
    intro = introduce_manually(
        session, want, offer, made_by=member, settings=settings, matcher=matcher
    )
    if intro is None:
        raise InvalidInput(f"Want #{want.id} and offer #{offer.id} have already been introduced.")
    return intro


# ---------------------------------------------------------------- answering and closing


def answer_introduction(
    session: Session,
    member: Member | None,
    intro_id: int,
    *,
    useful: bool,
    now: datetime | None = None,
) -> Introduction:
    """A party says "Useful — we're talking" or "Not a fit"; anyone else is refused."""
    intro = session.get(Introduction, intro_id)
    if intro is None:
        raise NotFound("That introduction no longer exists.")
    parties = {intro.want.member_id, intro.offer.member_id}
    if member is None or member.id not in parties:
        raise NotAllowed(
            "Only the two people introduced can answer this introduction. "
            "If you can help too, use the card's button."
        )
    intro.status = IntroductionStatus.CONFIRMED if useful else IntroductionStatus.DECLINED
    intro.answered_by_id = member.id
    intro.answered_at = now or utcnow()
    session.flush()
    _owe_update(session, intro)
    return intro


def _owe_update(session: Session, intro: Introduction) -> None:
    """Owe Slack an update of the introduction's message so everyone sees its new state."""
    payload = blocks.introduction(introduction_view(intro, session))
    msg = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.introduction_id == intro.id, OutboxMessage.kind == "introduction"
        )
    )
    if msg is None:
        return
    if msg.status == OutboxStatus.PENDING:
        msg.payload = payload  # not sent yet: send the new state straight away
        return
    outbox.enqueue(
        session,
        kind="introduction_update",
        method="chat.update",
        parent=msg,
        payload=payload,
        introduction_id=intro.id,
    )


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


def close_post(
    session: Session,
    member: Member | None,
    post_id: int | None,
    status: PostStatus,
    *,
    matcher: MarketMatcher | None = None,
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
        post_id = post.id
        after_commit(session, lambda: matcher.remove(post_id))
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
    card = outbox.card_message(session, post.id)
    if card is None:
        return
    payload = blocks.card(post_view(post))
    if card.status == OutboxStatus.PENDING:
        card.payload = payload
    else:
        outbox.enqueue(
            session,
            kind="card_update",
            method="chat.update",
            parent=card,
            payload=payload,
            post_id=post.id,
        )


def record_outcome(
    session: Session, member: Member, post_id: int, *, days: float | None, note: str | None
) -> Outcome:
    """What a fulfilled want saved, in days and words."""
    post = session.get(Post, post_id)
    if post is None or post.member_id != member.id:
        raise NotFound(f"You have no want #{post_id}.")
    if days is not None and not (0 <= days <= 5000):
        raise InvalidInput("Days saved must be between 0 and 5,000.")
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
    session.flush()
    return outcome


# ---------------------------------------------------------------- finding posts


def search_posts(
    session: Session, matcher: MarketMatcher, text: str, *, limit: int = 10
) -> list[tuple[Post, int]]:
    """Open posts ranked by how well they match ``text``, both kinds."""
    text = clean_post_text(text)
    if not has_visible_text(text):
        raise InvalidInput(
            "Tell me what to search for, e.g. `/km search information asset register`."
        )
    matcher.refresh(session)
    found: dict[int, int] = {}
    for kind in ("want", "offer"):
        for m in matcher.search(text, kind, threshold=25, limit=limit):
            pid = m.offer_id if kind == "want" else m.want_id
            found[pid] = max(found.get(pid, 0), m.score)
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    posts = {
        p.id: p for p in session.scalars(select(Post).where(Post.id.in_([i for i, _ in ranked])))
    }
    return [(posts[i], s) for i, s in ranked if i in posts and posts[i].status == PostStatus.OPEN]


# ---------------------------------------------------------------- a member's own view


@dataclass
class MemberOverview:
    """A member's posts and introductions, ready for App Home or ``/km mine``."""

    name: str | None
    council: str | None
    posts: list[PostView]
    introductions: list[IntroductionView]
    post_ids: set[int]


def member_overview(session: Session, member: Member | None) -> MemberOverview:
    """Everything App Home shows a member."""
    if member is None:
        return MemberOverview(None, None, [], [], set())
    posts = queries.posts_of(session, member.id)
    intros = queries.introductions_of_member(session, member.id)
    return MemberOverview(
        name=member.name,
        council=member.council.name if member.council else None,
        posts=[post_view(p) for p in posts],
        introductions=[introduction_view(i, session) for i in intros],
        post_ids={p.id for p in posts},
    )


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


def notify_member(
    session: Session, member: Member, payload: dict[str, Any], *, kind: str = "notice"
) -> None:
    """Owe a member a direct message (delivered and retried like everything else)."""
    if member.slack_user_id:
        notify_user(session, member.slack_user_id, payload, kind=kind)


def notify_user(
    session: Session, slack_user_id: str, payload: dict[str, Any], *, kind: str = "notice"
) -> None:
    """Owe a Slack user a direct message, whether or not they have joined yet."""
    outbox.enqueue(session, kind=kind, channel=slack_user_id, payload=payload)
