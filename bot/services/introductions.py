"""Introductions: matched pairs, chosen pairs ("I can help", a facilitator), and their answers.

A pair is introduced at most once; every introduction owes Slack a message in the want's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.clock import utcnow
from bot.kernel.errors import InvalidInput, NeedsCouncil, NotAllowed, NotFound
from bot.kernel.settings import Settings
from bot.kernel.vocabulary import IntroductionStatus, OutboxStatus, PostKind, PostStatus
from bot.live_index import LiveMatchIndex
from bot.matching import Match
from bot.outbox import enqueue as outbox
from bot.services.context import ServiceContext, member_of
from bot.services.views import introduction_view, is_away
from bot.slack import followups as follow_up_messages
from bot.slack import introductions as intro_messages
from bot.slack.views import IntroductionView
from storage import queries
from storage.models import Introduction, Member, OutboxMessage, Post

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


def proposed_introductions(session: Session, matcher: LiveMatchIndex) -> list[ProposedIntroduction]:
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


# ---------------------------------------------------------------- making introductions


def introduce(
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
    """Record an introduction and owe Slack its message; None if the pair was introduced already.

    The message goes in the want's thread: after the new card when the want is the post being
    published, in the card's thread once it is delivered, or on its own for a want with no card.
    """
    # A post being published in this transaction has no introductions yet, nor can another
    # process make one for it: the checks for a pair introduced already are skipped.
    fresh = new_post is not None and new_post.id in (want_id, offer_id)
    if not fresh and (
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
    if fresh:
        session.add(intro)
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(intro)
                session.flush()
        except IntegrityError:
            # Another process introduced the same pair a moment ago.
            return None
    if someone_away(intro, intro.created_at):  # introduced when they are back (services.away)
        intro.held_at = intro.created_at
        return intro
    owe_introduction(session, intro, settings=settings, new_card=new_card, new_post=new_post)
    return intro


def someone_away(intro: Introduction, now: datetime) -> bool:
    """Whether either person introduced is away at ``now``: the introduction, or its follow-up,
    waits for them."""
    return any(p.member is not None and is_away(p.member, now) for p in (intro.want, intro.offer))


def owe_introduction(
    session: Session,
    intro: Introduction,
    *,
    settings: Settings,
    new_card: OutboxMessage | None = None,
    new_post: Post | None = None,
    released: bool = False,
) -> None:
    """Owe Slack an introduction's message, in its want's thread (``released``: one held while
    a party was away, owed now they are back)."""
    want_id = intro.want_id
    want = session.get(Post, want_id)
    assert want is not None
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
            channel = settings.marketplace_channel  # no card (e.g. from a workshop)
    outbox.enqueue(
        session,
        kind="introduction",
        channel=channel,
        thread_ts=thread_ts,
        parent=parent,
        payload=intro_messages.introduction(introduction_view(intro, session)),
        introduction_id=intro.id,
        dedupe_key=f"intro:{intro.id}",
        new_cause=not released,
    )


def introduce_matches(
    session: Session,
    matches: Iterable[Match],
    *,
    settings: Settings,
    new_post: Post | None = None,
    new_card: OutboxMessage | None = None,
) -> list[Introduction]:
    """Introduce each match not introduced before; returns the introductions made."""
    made: list[Introduction] = []
    for m in matches:
        intro = introduce(
            session,
            m.want_id,
            m.offer_id,
            m.score,
            m.reasons,
            settings=settings,
            new_card=new_card,
            new_post=new_post,
        )
        if intro is not None and intro.held_at is None:  # held: introduced on a return
            made.append(intro)
    return made


def introduce_manually(
    session: Session,
    want: Post,
    offer: Post,
    *,
    made_by: Member | None,
    settings: Settings,
    matcher: LiveMatchIndex,
) -> Introduction | None:
    """Introduce a chosen want and offer (a member's "I can help", or a facilitator)."""
    if want.kind != PostKind.WANT or offer.kind != PostKind.OFFER:
        raise InvalidInput("An introduction joins a want and an offer.")
    if want.status != PostStatus.OPEN or offer.status != PostStatus.OPEN:
        raise InvalidInput("Both posts must be open to introduce them.")
    if want.council_id == offer.council_id:
        raise InvalidInput("Those two posts are from the same council.")
    score, reasons = matcher.score_pair(want.text, offer.text)
    return introduce(
        session, want.id, offer.id, score, reasons, settings=settings, manual=True, made_by=made_by
    )


def introduce_on_request(
    session: Session,
    post: Post,
    other_id: int,
    *,
    made_by: Member,
    settings: Settings,
    matcher: LiveMatchIndex,
) -> Introduction | None:
    """A post made from "I can help" on another post: introduce the two if that one is open."""
    other = session.get(Post, other_id)
    if other is None or other.status != PostStatus.OPEN or other.kind == post.kind:
        return None
    want, offer = (post, other) if post.kind == PostKind.WANT else (other, post)
    return introduce_manually(
        session, want, offer, made_by=made_by, settings=settings, matcher=matcher
    )


def offer_help(
    session: Session, member: Member, post_id: int, *, settings: Settings, matcher: LiveMatchIndex
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


def introduce_missed(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    matcher: LiveMatchIndex,
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
            made += len(
                introduce_matches(session, matcher.matches_for(session, post), settings=settings)
            )
    if made:
        logger.info("Introduced %d pair(s) that had missed each other", made)
    return made


# ---------------------------------------------------------------- answering


def answer_introduction(
    session: Session,
    member: Member | None,
    intro_id: int,
    *,
    useful: bool,
    now: datetime | None = None,
) -> Introduction:
    """A party says "Useful — we're talking" or "Not a fit"; anyone else is refused.

    The first answer stands: a second press (a stale button in the thread, on App Home or in a
    follow-up DM) records nothing and says what was answered.
    """
    # Locked: two presses at once (both people, or a double click) record one answer.
    intro = session.get(Introduction, intro_id, with_for_update=True, populate_existing=True)
    if intro is None:
        raise NotFound("That introduction no longer exists.")
    parties = {intro.want.member_id, intro.offer.member_id}
    if member is None or member.id not in parties:
        raise NotAllowed(
            "Only the two people introduced can answer this introduction. "
            "If you can help too, use the card's button."
        )
    if intro.held_at is not None:
        raise InvalidInput(
            "That introduction hasn't been made yet: I'm holding it until you're both back."
        )
    if intro.status != IntroductionStatus.PROPOSED:
        raise InvalidInput(already_answered(intro, member))
    intro.status = IntroductionStatus.CONFIRMED if useful else IntroductionStatus.DECLINED
    intro.answered_by_id = member.id
    intro.answered_at = now or utcnow()
    session.flush()
    owe_update(session, intro)
    for dm in follow_up_dms(session, intro):
        note = follow_up_messages.answer_note(
            str(intro.status), recipient=dm.channel or "", answered_by=member.slack_user_id
        )
        owe_follow_up_update(
            session, dm, intro, follow_up_messages.answered(dm.payload, intro.id, note)
        )
    return intro


def already_answered(intro: Introduction, member: Member) -> str:
    """What a second press on an answered introduction is told."""
    state = "useful" if intro.status == IntroductionStatus.CONFIRMED else "not a fit"
    if intro.answered_by_id == member.id:
        return f"You've already marked that introduction {state}."
    return f"That introduction has already been marked {state}."


def owe_update(session: Session, intro: Introduction) -> None:
    """Owe Slack the introduction's message as it now is, so everyone sees its new state."""
    payload = intro_messages.introduction(introduction_view(intro, session))
    msg = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.introduction_id == intro.id, OutboxMessage.kind == "introduction"
        )
    )
    if msg is None:
        return
    outbox.owe_as_now(
        session, msg, payload, update_kind="introduction_update", introduction_id=intro.id
    )


# ---------------------------------------------------------------- follow-up DMs about it


def follow_up_dms(
    session: Session,
    intro: Introduction,
    slack_user_ids: Iterable[str] | None = None,
    *,
    answered_too: bool = False,
) -> list[OutboxMessage]:
    """The follow-up DMs (to either party, or to ``slack_user_ids``) that still show buttons for
    this introduction (``answered_too``: or show it at all), locked so that two answers at once
    change a DM one after the other."""
    if slack_user_ids is None:
        parties = (intro.want.member, intro.offer.member)
        slack_user_ids = [m.slack_user_id for m in parties if m is not None and m.slack_user_id]
    users = sorted(set(slack_user_ids))
    if not users:
        return []
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == "follow_up",
            OutboxMessage.channel.in_(users),
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENT]),
            OutboxMessage.created_at >= intro.created_at,  # none before it can be about it
        )
        .order_by(OutboxMessage.id)
        .with_for_update()
    )
    shows = follow_up_messages.mentions if answered_too else follow_up_messages.asks_about
    return [dm for dm in rows if shows(dm.payload, intro.id)]


def owe_follow_up_update(
    session: Session, dm: OutboxMessage, intro: Introduction, payload: dict[str, Any] | None
) -> bool:
    """Owe Slack a follow-up DM as it now reads (``payload``, from ``bot.slack.followups``),
    through the outbox like an introduction's update; False if there is nothing to change."""
    if payload is None or payload == dm.payload:
        return False
    outbox.owe_as_now(
        session, dm, payload, update_kind="follow_up_update", introduction_id=intro.id
    )
    return True


# ---------------------------------------------------------------- for the Slack handlers


def answering_kind(target: Post | None) -> str:
    """The kind of post that answers ``target``: "offer" for a want (or a post now gone)."""
    return "offer" if target is None or target.kind == PostKind.WANT else "want"


@dataclass(frozen=True)
class HelpAnswer:
    """What "I can help" did: an introduction, or the kind of post the member should make."""

    introduced: IntroductionView | None
    post_to_make: str  # "want" or "offer": what the member would post to take part
    held: bool = False  # one of the two is away: introduced when they are back


class IntroductionService:
    """Introductions as the Slack handlers need them: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def answer(
        self, team_id: str, user_id: str, intro_id: int, *, useful: bool
    ) -> IntroductionView:
        """A party answers an introduction; NotAllowed for anyone else."""
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            intro = answer_introduction(
                session, member, intro_id, useful=useful, now=self.context.clock()
            )
            return introduction_view(intro, session)

    def offer_help(self, team_id: str, user_id: str, post_id: int) -> HelpAnswer:
        """ "I can help" on a post: introduce with the member's best open post of the other kind.

        NeedsCouncil if the member has not joined yet.
        """
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            if member is None:
                raise NeedsCouncil()
            post_to_make = answering_kind(session.get(Post, post_id))
            intro = offer_help(
                session,
                member,
                post_id,
                settings=self.context.settings,
                matcher=self.context.live_index,
            )
            made = introduction_view(intro, session) if intro is not None else None
            held = intro is not None and intro.held_at is not None
            return HelpAnswer(made, post_to_make, held)

    def kind_answering(self, post_id: int) -> str:
        """The kind of post that answers this one ("offer" for a want), for the help modal."""
        with self.context.reading() as session:
            return answering_kind(session.get(Post, post_id))
