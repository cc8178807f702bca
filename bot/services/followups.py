"""Following up introductions nobody answered: ask both people, twice, then record no response.

An introduction still "proposed" ``KMBOT_FOLLOW_UP_DAYS`` days after it was made (or after it was
released, for one held while a party was away) gets a DM to each party asking whether it helped,
with the introduction's own "Useful" / "Not a fit" buttons and "We're still talking" (ask again
in a week). A second ask goes a week after the first; a week after that, an introduction still
unanswered is recorded as having had no response. Never about a closed post, never to a member
who is away, erased or has no Slack account; a member gets at most one follow-up DM a day, listing
every introduction due (the rest wait for the next day). An introduction that fell due more than
four weeks ago without ever being asked about (made before follow-ups existed, say) is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.kernel.clock import uk_time
from bot.kernel.errors import InvalidInput, NotAllowed, NotFound
from bot.kernel.settings import Settings
from bot.kernel.vocabulary import IntroductionStatus, PostStatus
from bot.outbox import enqueue as outbox
from bot.services.context import ServiceContext, member_of
from bot.services.introductions import (
    already_answered,
    follow_up_dms,
    owe_follow_up_update,
)
from bot.services.views import is_away, post_view
from bot.slack import followups as follow_up_messages
from storage.models import Introduction, Member, Post

logger = logging.getLogger(__name__)

FOLLOW_UP_GAP = timedelta(days=7)  # between asks, and after "we're still talking"
ASKS = 2  # asks before an introduction is recorded as having had no response
# An introduction never asked about is asked only this long after it falls due: older ones
# (made before follow-ups existed, or while the worker was stopped) are not raked up.
FIRST_ASK_WINDOW = timedelta(days=28)
_BATCH = 500


@dataclass
class FollowUpRun:
    """What one run of the follow-up job did."""

    messages: int = 0  # DMs owed
    introductions: int = 0  # introductions asked about
    no_response: int = 0  # introductions recorded as having had no response


def _due(settings: Settings, now: datetime) -> ColumnElement[bool]:
    first_due = now - timedelta(days=settings.follow_up_days)
    return or_(
        Introduction.follow_up_due_at <= now,
        and_(
            Introduction.follow_up_due_at.is_(None),
            Introduction.created_at <= first_due,
            Introduction.created_at > first_due - FIRST_ASK_WINDOW,
        ),
    )


def due_introductions(session: Session, *, settings: Settings, now: datetime) -> list[Introduction]:
    """Unanswered introductions between two open posts whose follow-up is due, oldest first."""
    want, offer = aliased(Post), aliased(Post)
    return list(
        session.scalars(
            select(Introduction)
            .join(want, Introduction.want_id == want.id)
            .join(offer, Introduction.offer_id == offer.id)
            .where(
                Introduction.status == IntroductionStatus.PROPOSED,
                Introduction.held_at.is_(None),
                Introduction.no_response_at.is_(None),
                want.status == PostStatus.OPEN,
                offer.status == PostStatus.OPEN,
                _due(settings, now),
            )
            .order_by(Introduction.created_at, Introduction.id)
            .limit(_BATCH)
        )
    )


def _reachable(member: Member) -> bool:
    return bool(member.slack_user_id and member.erased_at is None)


def _asked_today(member: Member, now: datetime) -> bool:
    last = member.last_follow_up_at
    return last is not None and uk_time(last).date() == uk_time(now).date()


def _snoozed_since_last_ask(intro: Introduction) -> bool:
    """Whether someone said "we're still talking" since the introduction was last asked about."""
    talking, asked = intro.still_talking_at, intro.followed_up_at
    return talking is not None and (asked is None or talking >= asked)


def follow_up_due(session: Session, *, settings: Settings, now: datetime) -> FollowUpRun:
    """Owe every follow-up DM due now (one per member at most) and record the no-responses."""
    run = FollowUpRun()
    batches: dict[Member, list[Introduction]] = {}  # this run's DM to each member, and what in it

    def has_room(member: Member) -> bool:
        batch = batches.get(member)
        if batch is None:
            return not _asked_today(member, now)  # one DM a day
        return len(batch) < follow_up_messages.MAX_IN_ONE_MESSAGE

    for intro in due_introductions(session, settings=settings, now=now):
        parties = (intro.want.member, intro.offer.member)
        back = [m.away_until for m in parties if m is not None and is_away(m, now)]
        if back:
            # Asked when they are back; out of the queue till then, so it holds up nobody.
            intro.follow_up_due_at = max(d for d in back if d is not None)
            continue
        reachable = [m for m in parties if m is not None and _reachable(m)]
        if not reachable:
            intro.follow_up_due_at = now + FOLLOW_UP_GAP  # nobody to ask yet: look again later
            continue
        if intro.follow_ups >= ASKS and not _snoozed_since_last_ask(intro):
            intro.no_response_at = now
            run.no_response += 1
            continue
        if all(has_room(m) for m in reachable):  # otherwise it waits for tomorrow's DM
            for m in reachable:
                batches.setdefault(m, []).append(intro)
    day = uk_time(now).date().isoformat()
    for member, intros in batches.items():
        assert member.slack_user_id is not None
        outbox.enqueue(
            session,
            kind="follow_up",
            channel=member.slack_user_id,
            payload=follow_up_messages.follow_up([_item(intro, member) for intro in intros]),
            dedupe_key=f"follow-up:{member.id}:{day}",
        )
        member.last_follow_up_at = now
    asked = {intro for intros in batches.values() for intro in intros}
    for intro in asked:
        intro.follow_ups += 1
        intro.followed_up_at = now
        intro.follow_up_due_at = now + FOLLOW_UP_GAP
    run.messages, run.introductions = len(batches), len(asked)
    return run


def _item(intro: Introduction, member: Member) -> follow_up_messages.FollowUpItem:
    mine, theirs = (
        (intro.want, intro.offer)
        if intro.want.member_id == member.id
        else (intro.offer, intro.want)
    )
    return follow_up_messages.FollowUpItem(
        intro_id=intro.id,
        mine=post_view(mine),
        theirs=post_view(theirs),
        introduced_on=intro.created_at,
        asked_before=intro.follow_ups,
    )


def send_follow_ups(
    session_factory: sessionmaker[Session], *, settings: Settings, now: datetime
) -> FollowUpRun:
    """The worker's job: owe today's follow-ups in one transaction (a second run, or a second
    worker, finds nothing left to send today)."""
    try:
        with session_factory.begin() as session:
            run = follow_up_due(session, settings=settings, now=now)
    except IntegrityError:
        logger.info("Another worker sent today's follow-ups")
        return FollowUpRun()
    if run.messages or run.no_response:
        logger.info(
            "Follow-ups: %d DM(s) about %d introduction(s); %d recorded as no response",
            run.messages,
            run.introductions,
            run.no_response,
        )
    return run


def still_talking(
    session: Session, member: Member | None, intro_id: int, *, now: datetime
) -> datetime:
    """ "We're still talking": ask again a week from now, and do nothing else; when that is.

    Once per ask: a second press (either person, or the same stale button) changes nothing and
    gives the same day. The presser's follow-up DM loses its buttons and says so.
    """
    intro = session.get(Introduction, intro_id, with_for_update=True, populate_existing=True)
    if intro is None:
        raise NotFound("That introduction no longer exists.")
    if member is None or member.id not in {intro.want.member_id, intro.offer.member_id}:
        raise NotAllowed("Only the two people introduced can answer this introduction.")
    if intro.status != IntroductionStatus.PROPOSED:
        raise InvalidInput(already_answered(intro, member))
    if not _snoozed_since_last_ask(intro) or intro.follow_up_due_at is None:
        intro.still_talking_at = now
        intro.no_response_at = None
        intro.follow_up_due_at = now + FOLLOW_UP_GAP
    again = intro.follow_up_due_at
    if member.slack_user_id:
        note = follow_up_messages.answer_note(
            "still_talking",
            recipient=member.slack_user_id,
            answered_by=member.slack_user_id,
            ask_again_on=again,
        )
        for dm in follow_up_dms(session, intro, [member.slack_user_id]):
            payload = follow_up_messages.answered(dm.payload, intro.id, note)
            owe_follow_up_update(session, dm, intro, payload)
    return again


class FollowUpService:
    """Follow-ups as the Slack handlers need them: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def still_talking(self, team_id: str, user_id: str, intro_id: int) -> datetime:
        """A party says they are still talking; returns when they will be asked again."""
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            return still_talking(session, member, intro_id, now=self.context.clock())
