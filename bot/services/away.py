"""Members away: introductions to them, their expiry reminders and follow-ups wait until then.

A member's posts are still matched while they are away; the introductions made meanwhile are
held (stored, with no message owed) and made through the normal path when they are back: on
``/km back`` (or App Home's "I'm back"), or by the worker once the date they gave has come.
A held introduction whose want or offer closed meanwhile, or whose other person asked to be
forgotten, is dropped then instead (deleted, unsent: nobody was ever told of it). It is judged
only then, not while someone is still away, as a post closed meanwhile may yet be reopened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.clock import uk_midnight, uk_time
from bot.kernel.errors import InvalidInput
from bot.kernel.settings import Settings
from bot.kernel.uk_dates import UnreadableDate, parse_uk_date
from bot.kernel.vocabulary import PostStatus
from bot.services.context import ServiceContext, member_of
from bot.services.introductions import owe_introduction, someone_away
from bot.services.views import is_away
from storage.models import Introduction, Member, Post

logger = logging.getLogger(__name__)

MAX_AWAY = timedelta(days=365)
# What a member may type after `/km away` to say they are back (`/km away off`).
_BACK_WORDS = frozenset({"off", "back", "cancel", "stop", "end", "over", "none", "no"})


@dataclass(frozen=True)
class Release:
    """What releasing held introductions did."""

    made: int = 0  # introduced now, in the want's thread
    dropped: int = 0  # a post closed (or a person was erased) meanwhile: never made


def says_back(text: str) -> bool:
    """Whether what followed `/km away` means "I'm back" (`/km away off`), as `/km back` does."""
    return text.strip().lower() in _BACK_WORDS


def back_on(text: str, *, now: datetime) -> date:
    """The day a member typed for their return; InvalidInput (saying why) if it will not do."""
    cleaned = " ".join(text.split())
    if cleaned.lower().startswith("until "):
        cleaned = cleaned[len("until ") :]
    today = uk_time(now).date()
    try:
        day = parse_uk_date(cleaned, today)
    except UnreadableDate as exc:
        raise InvalidInput(str(exc)) from None
    if day <= today:
        raise InvalidInput(
            f"{day:%-d %B %Y} isn't in the future. Give the day you'll be back, "
            "for example `/km away until next Monday`."
        )
    if day > today + MAX_AWAY:
        raise InvalidInput(
            f"{day:%-d %B %Y} is more than a year away. Give a date within the next year."
        )
    return day


def held_introductions(session: Session, member_id: int | None = None) -> list[Introduction]:
    """Introductions held while a party was away, whatever became of their posts (one
    member's, with ``member_id``), oldest first."""
    stmt = select(Introduction).where(Introduction.held_at.is_not(None)).order_by(Introduction.id)
    if member_id is not None:
        theirs = select(Post.id).where(Post.member_id == member_id)
        stmt = stmt.where(or_(Introduction.want_id.in_(theirs), Introduction.offer_id.in_(theirs)))
    return list(session.scalars(stmt))


def still_worth_making(intro: Introduction) -> bool:
    """Whether a held introduction should still be made: both posts open, nobody erased."""
    posts = (intro.want, intro.offer)
    return all(p.status == PostStatus.OPEN for p in posts) and not any(
        p.member is not None and p.member.erased_at is not None for p in posts
    )


def release_held(
    session: Session, *, settings: Settings, now: datetime, member_id: int | None = None
) -> Release:
    """Make the held introductions whose parties are all back, and drop those no longer worth
    making. Each is done on its own: one that cannot be made holds up no other."""
    made = dropped = 0
    for intro in held_introductions(session, member_id):
        if someone_away(intro, now):
            continue  # judged when they are back (a closed post may be reopened meanwhile)
        if not still_worth_making(intro):
            # Nobody was told of it, so it goes. A plain delete: another worker (or "I'm back")
            # may have dropped it a moment ago.
            logger.info("Dropped introduction %s, held while away: a post closed", intro.id)
            session.expunge(intro)
            session.execute(
                delete(Introduction).where(
                    Introduction.id == intro.id, Introduction.held_at.is_not(None)
                )
            )
            dropped += 1
            continue
        try:
            with session.begin_nested():
                intro.held_at = None
                # Followed up counting from now, not from when it was held.
                intro.follow_up_due_at = now + timedelta(days=settings.follow_up_days)
                owe_introduction(session, intro, settings=settings, released=True)
        except IntegrityError:
            # Another worker (or the member's own "I'm back") made it a moment ago.
            logger.info("Introduction %s was released elsewhere", intro.id)
            continue
        made += 1
    return Release(made, dropped)


def release_returned(
    session_factory: sessionmaker[Session], *, settings: Settings, now: datetime
) -> Release:
    """The worker's sweep: members whose date has come are back; held introductions whose
    people are all back are made (or dropped, if a post closed meanwhile)."""
    with session_factory.begin() as session:
        for member in session.scalars(
            select(Member).where(Member.away_until.is_not(None), Member.away_until <= now)
        ):
            member.away_until = None
        session.flush()
        release = release_held(session, settings=settings, now=now)
    if release.made or release.dropped:
        logger.info(
            "Made %d introduction(s) held while someone was away; dropped %d",
            release.made,
            release.dropped,
        )
    return release


class AwayService:
    """Away and back, as the Slack handlers need them: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def _member(self, session: Session, team_id: str, user_id: str) -> Member:
        member = member_of(session, team_id, user_id, lock=True)
        if member is None or member.erased_at is not None:
            raise InvalidInput(
                "You haven't joined the marketplace yet, so there's nothing to pause. "
                "Post with `/want` or `/offer`, or type `/km join`."
            )
        return member

    def away_until(self, team_id: str, user_id: str) -> datetime | None:
        """When the member is back, if they are away now."""
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            now = self.context.clock()
            return member.away_until if member is not None and is_away(member, now) else None

    def check_return(self, text: str) -> None:
        """InvalidInput (saying why) if ``text`` is not a day to be back on; nothing is read."""
        back_on(text, now=self.context.clock())

    def go_away(self, team_id: str, user_id: str, text: str) -> datetime:
        """Away until the day typed (checked first: a bad date changes nothing); the instant."""
        now = self.context.clock()
        until = uk_midnight(back_on(text, now=now))
        with self.context.session_factory.begin() as session:
            member = self._member(session, team_id, user_id)
            member.away_until = until
        return until

    def come_back(self, team_id: str, user_id: str) -> Release | None:
        """Back now: the held introductions are made (or dropped); None if they were not away."""
        now = self.context.clock()
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id, lock=True)
            if member is None or member.erased_at is not None:
                return None
            # A date that has passed (the worker not round yet) still counts as away.
            was_away = member.away_until is not None
            member.away_until = None
            session.flush()
            release = release_held(
                session, settings=self.context.settings, now=now, member_id=member.id
            )
            return release if was_away or release.made or release.dropped else None
