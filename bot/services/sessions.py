"""Live marketplace sessions: a timed wants-and-offers session in a channel, a board updated in
place as posts arrive, and the outputs when it ends (by a facilitator or the worker's timer).

Everything the session says goes through the outbox, in the transaction of its cause. The board
is cheap to keep current: an update still waiting in the outbox is rewritten with the news
instead of another being queued, so a burst of 500 posts costs a handful of ``chat.update``
calls, not 500.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.kernel.clock import utcnow
from bot.kernel.errors import InvalidInput, KmbotError
from bot.kernel.text import escape, truncate
from bot.kernel.vocabulary import PostKind, PostStatus
from bot.outbox import enqueue as outbox
from bot.reports.outputs import (
    made_during,
    ranked,
)
from bot.services import audit
from bot.services.context import ServiceContext, member_of
from bot.slack import sessions as session_messages
from bot.slack.kit import channel_ref
from bot.slack.sessions import (
    ParticipantMatches,
    SessionIntroductionLine,
    SessionPostLine,
    SessionView,
)
from storage.models import Council, Introduction, MarketSession, Member, OutboxMessage, Post

logger = logging.getLogger(__name__)

DEFAULT_MINUTES = 15
MIN_MINUTES, MAX_MINUTES = 1, 240
LATEST_SHOWN = 3  # the newest posts, on the board


class SessionRunning(KmbotError):
    """A session is already running: only one at a time."""


# ---------------------------------------------------------------- the rules (caller's session)


_MINUTES = re.compile(r"([0-9]{1,6}) ?(?:m|mins?|minutes?)?")


def parse_minutes(word: str | None) -> int:
    """The session's length from what the facilitator typed; InvalidInput for anything else."""
    if word is None or word == "":
        return DEFAULT_MINUTES
    found = _MINUTES.fullmatch(word.strip().lower())
    if found is None:
        raise InvalidInput(
            f"“{escape(truncate(word, 20))}” is not a number of minutes. Try "
            f"`/km-admin session start 15` (between {MIN_MINUTES} and {MAX_MINUTES} minutes)."
        )
    minutes = int(found.group(1))
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InvalidInput(
            f"A session lasts between {MIN_MINUTES} and {MAX_MINUTES} minutes, not {minutes}."
        )
    return minutes


def running_session(session: Session, *, lock: bool = False) -> MarketSession | None:
    """The session not ended yet (its time may just have run out), if any."""
    stmt = (
        select(MarketSession)
        .where(MarketSession.ended_at.is_(None))
        .order_by(MarketSession.id.desc())
        .limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def start_session(
    session: Session, *, started_by: Member | None, minutes: int, channel: str, now: datetime
) -> MarketSession:
    """Start a session and owe Slack its board; SessionRunning if one already is."""
    current = running_session(session, lock=True)
    if current is not None and current.ends_at <= now:
        # Its time ran out before the worker's timer closed it: close it now, outputs and all.
        end_session(session, current, now)
        current = None
    if current is not None:
        raise SessionRunning(
            f"A marketplace session is already running in "
            f"{channel_ref(current.channel)} until "
            f"{session_messages.clock_text(current.ends_at)}. End it first with "
            "`/km-admin session end`."
        )
    market = MarketSession(
        channel=channel,
        started_by_id=started_by.id if started_by is not None else None,
        started_at=now,
        ends_at=now + timedelta(minutes=minutes),
    )
    session.add(market)
    session.flush()
    board = outbox.enqueue(
        session,
        kind="session_board",
        channel=channel,
        payload=session_messages.board(session_view(session, market, now)),
        dedupe_key=f"session:{market.id}:board",
        new_cause=True,
    )
    market.board_outbox_id = board.id
    session.flush()
    return market


def on_post_edited(session: Session, post: Post, now: datetime) -> None:
    """After an edit: the board of the running session the post was made in shows it as edited."""
    if post.session_id is None:
        return
    market = running_session(session, lock=True)
    if market is not None and market.id == post.session_id:
        refresh_board(session, market, session_view(session, market, now), now)


def on_post_published(
    session: Session, post: Post, *, now: datetime | None = None
) -> MarketSession | None:
    """At publish, during a session: tag the post with it. Returns the session, if one is
    running. The board is brought up to date after the post's transaction commits
    (``refresh_board_after``), so its render never holds the write lock."""
    now = now or post.created_at
    # Locked: a session ending now sees this post in its outputs, or the post is not in it.
    market = running_session(session, lock=True)
    if market is None or market.ends_at <= now:
        return None
    post.session_id = market.id
    session.flush()
    return market


def _newest_post_id(session: Session, market_id: int) -> int | None:
    return session.scalar(select(func.max(Post.id)).where(Post.session_id == market_id))


def refresh_board_after(
    reading: Callable[[], Session],
    writing: sessionmaker[Session],
    market_id: int,
    now: datetime,
) -> None:
    """Bring a running session's board up to date once a post in it has committed: the view
    is read without the write lock, then a short write owes Slack the update. A post that
    committed in between is seen (its newer id), and the view is then read again there."""
    with reading() as session:
        market = session.get(MarketSession, market_id)
        if market is None or market.ended_at is not None:
            return  # the end renders the final board
        view = session_view(session, market, now)
        newest = _newest_post_id(session, market_id)
    with writing.begin() as session:
        market = session.get(MarketSession, market_id, with_for_update=True)
        if market is None or market.ended_at is not None:
            return
        if _newest_post_id(session, market_id) != newest:
            view = session_view(session, market, now)
        refresh_board(session, market, view, now)


def refresh_board(
    session: Session, market: MarketSession, view: SessionView, now: datetime
) -> None:
    """Owe Slack the board as ``view`` shows it: in the update still waiting, or a new one."""
    if market.board_outbox_id is None:
        return
    parent = session.get(OutboxMessage, market.board_outbox_id)
    if parent is not None:
        outbox.owe_update(
            session, parent, session_messages.board(view), kind="session_board", now=now
        )


def end_session(session: Session, market: MarketSession, now: datetime) -> bool:
    """Close a session once: the final board, the outputs in its channel, each participant's
    matches in a DM. False if it had already ended."""
    session.refresh(market, with_for_update=True)
    if market.ended_at is not None:
        return False
    market.ended_at = now
    session.flush()
    view = session_view(session, market, now)
    refresh_board(session, market, view, now)
    outbox.enqueue(
        session,
        kind="session_outputs",
        channel=market.channel,
        payload=session_messages.outputs(view),
        dedupe_key=f"session:{market.id}:outputs",
        new_cause=True,
    )
    for found in participants(session, market):
        outbox.notify_user(
            session,
            found.slack_user_id,
            session_messages.participant_matches(found),
            kind="session_matches",
        )
    return True


def end_due_sessions(session_factory: sessionmaker[Session], *, now: datetime | None = None) -> int:
    """The worker's timer: end every session whose time is up. Safe to run twice at once."""
    now = now or utcnow()
    ended = 0
    with session_factory() as session:
        due = list(
            session.scalars(
                select(MarketSession.id).where(
                    MarketSession.ended_at.is_(None), MarketSession.ends_at <= now
                )
            )
        )
    for market_id in due:
        with session_factory.begin() as session:
            market = session.get(MarketSession, market_id)
            if market is not None and end_session(session, market, now):
                ended += 1
    return ended


# ---------------------------------------------------------------- what the session shows


def _line(post: Post, council: str) -> SessionPostLine:
    return SessionPostLine(post.id, str(post.kind), council, post.text, post.service_area)


def _contents(
    session: Session, market: MarketSession
) -> tuple[list[tuple[Post, SessionPostLine]], list[SessionIntroductionLine]]:
    """The session's posts (removed ones left out), oldest first, and the introductions of its
    posts made while it ran."""
    posts = [
        (p, _line(p, council))
        for p, council in session.execute(
            select(Post, Council.short_name)
            .join(Council, Post.council_id == Council.id)
            .where(Post.session_id == market.id, Post.status != PostStatus.REMOVED)
            .order_by(Post.id)
        )
    ]
    lines = {p.id: line for p, line in posts}
    want, offer = aliased(Post), aliased(Post)
    want_council, offer_council = aliased(Council), aliased(Council)
    introductions = [
        # A post from outside the session (an older offer, say) is shown as it is.
        SessionIntroductionLine(lines.get(w.id) or _line(w, wc), lines.get(o.id) or _line(o, oc))
        for w, wc, o, oc in session.execute(
            select(want, want_council.short_name, offer, offer_council.short_name)
            .select_from(Introduction)
            .join(want, Introduction.want_id == want.id)
            .join(offer, Introduction.offer_id == offer.id)
            .join(want_council, want.council_id == want_council.id)
            .join(offer_council, offer.council_id == offer_council.id)
            .where(made_during(market, want, offer))
            .order_by(Introduction.id)
        )
    ]
    return posts, introductions


def session_view(session: Session, market: MarketSession, now: datetime) -> SessionView:
    """The session's state now: counts, top areas, introductions, unmatched wants."""
    posts, introductions = _contents(session, market)
    wanted = [(p, line) for p, line in posts if p.kind == PostKind.WANT]
    # Posts placed in no service area are left out of the top areas (the board counts them).
    demand = Counter(line.area for _, line in wanted if line.area)
    supply = Counter(line.area for p, line in posts if p.kind == PostKind.OFFER and line.area)
    matched = {i.want.id for i in introductions}
    return SessionView(
        id=market.id,
        channel=market.channel,
        started_at=market.started_at,
        ends_at=market.ends_at,
        ended_at=market.ended_at,
        now=now,
        wants=len(wanted),
        offers=len(posts) - len(wanted),
        participants=len({p.member_id for p, _ in posts if p.member_id is not None}),
        demand=tuple(ranked(demand)),
        supply=tuple(ranked(supply)),
        introductions=tuple(introductions),
        unmatched_wants=tuple(
            line for p, line in wanted if p.id not in matched and p.status == PostStatus.OPEN
        ),
        latest=tuple(line for _, line in reversed(posts[-LATEST_SHOWN:])),
    )


def participants(session: Session, market: MarketSession) -> list[ParticipantMatches]:
    """Each participant's posts in the session and their matches from it (members who have
    since asked to be forgotten, or have no Slack id, are left out)."""
    posts, introductions = _contents(session, market)
    by_member: dict[int, list[SessionPostLine]] = {}
    for p, line in posts:
        if p.member_id is not None:
            by_member.setdefault(p.member_id, []).append(line)
    slack_ids = {
        member_id: slack_user_id
        for member_id, slack_user_id in session.execute(
            select(Member.id, Member.slack_user_id).where(
                Member.id.in_(by_member), Member.erased_at.is_(None)
            )
        )
    }
    found = []
    for member_id, theirs in by_member.items():
        slack_user_id = slack_ids.get(member_id)
        if not slack_user_id:
            continue
        ids = {line.id for line in theirs}
        matches = tuple(
            (i.want, i.offer) if i.want.id in ids else (i.offer, i.want)
            for i in introductions
            if ids & {i.want.id, i.offer.id}
        )
        found.append(ParticipantMatches(slack_user_id, tuple(theirs), matches))
    return found


# ---------------------------------------------------------------- what the handlers call


class SessionService:
    """Live marketplace sessions as /km-admin needs them: each call is
    one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def start(
        self, team_id: str, user_id: str, minutes_word: str | None, channel: str | None
    ) -> str:
        """Start a session (default 15 minutes, in the marketplace channel); the facilitator's
        reply."""
        minutes = parse_minutes(minutes_word)
        now = self.context.clock()
        where = channel or self.context.settings.marketplace_channel
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            market = start_session(
                session, started_by=member, minutes=minutes, channel=where, now=now
            )
            audit.record(
                session,
                user_id,
                "session_start",
                f"session {market.id}",
                before=None,
                after={"channel": where, "minutes": minutes},
                at=now,
            )
            view = session_view(session, market, now)
        return session_messages.started(view)

    def end(self, user_id: str) -> str:
        """End the running session now; the facilitator's reply."""
        now = self.context.clock()
        with self.context.session_factory.begin() as session:
            market = running_session(session, lock=True)
            if market is None:
                raise InvalidInput(
                    "No marketplace session is running. Start one with "
                    "`/km-admin session start [minutes] [#channel]`."
                )
            end_session(session, market, now)
            audit.record(
                session,
                user_id,
                "session_end",
                f"session {market.id}",
                before=None,
                after=None,
                at=now,
            )
            view = session_view(session, market, now)
        return session_messages.ended(view)

    def current(self) -> str:
        """The running session's state, as mrkdwn for the facilitator."""
        now = self.context.clock()
        with self.context.reading() as session:
            market = running_session(session)
            view = session_view(session, market, now) if market is not None else None
        return session_messages.status(view)

    # ------------------------------------------------------------ the quarter's outputs
