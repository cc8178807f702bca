"""Weekly nudges: when each community's slot falls, what the nudge says, and sending it once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.settings import Settings
from bot.outbox import enqueue as outbox
from bot.services.communities import NATIONS, ensure_builtin_prompts, list_prompts
from bot.services.views import post_view
from bot.slack import communities as nudge_messages
from storage.models import (
    CommunityOfPractice,
    Introduction,
    IntroductionStatus,
    NudgePrompt,
    NudgeRun,
    OutboxMessage,
    Post,
    PostKind,
    PostStatus,
)

logger = logging.getLogger(__name__)

SENT = "sent"
SKIPPED = "skipped"


@dataclass(frozen=True)
class NudgeOutcome:
    """What one run did for one community's slot."""

    community_id: int
    channel_id: str
    slot: datetime  # UTC
    status: str  # "sent" or "skipped"
    reason: str | None = None
    outbox_id: int | None = None


# ---------------------------------------------------------------- when slots fall


def weekly_slot_before(now: datetime, *, weekday: int, time_of_day: str, timezone: str) -> datetime:
    """The latest weekly slot at or before ``now``, in UTC.

    The slot is a wall-clock time in ``timezone`` (10:00 Europe/London is 10:00 BST in summer
    and 10:00 GMT in winter), so its UTC instant moves with the clocks.
    """
    zone = ZoneInfo(timezone)
    hour, minute = (int(part) for part in time_of_day.split(":"))
    local_now = now.astimezone(zone)
    day = local_now.date() - timedelta(days=(local_now.weekday() - weekday) % 7)
    slot = _at(day, hour, minute, zone)
    if slot > now:
        slot = _at(day - timedelta(days=7), hour, minute, zone)
    return slot


def _at(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    # A time the clocks skip (01:30 on the spring change) maps to the instant an hour on;
    # one they repeat (01:30 in October) to its first occurrence. Either way the same every run.
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def latest_slot(community: CommunityOfPractice, now: datetime) -> datetime:
    """The community's latest weekly slot at or before ``now``, in UTC."""
    return weekly_slot_before(
        now,
        weekday=community.weekday,
        time_of_day=community.time_of_day,
        timezone=community.timezone,
    )


def next_slot(community: CommunityOfPractice, now: datetime) -> datetime:
    """The community's next weekly slot after ``now``, in UTC (for showing facilitators)."""
    latest = latest_slot(community, now)
    local = latest.astimezone(ZoneInfo(community.timezone))
    hour, minute = (int(part) for part in community.time_of_day.split(":"))
    return _at(local.date() + timedelta(days=7), hour, minute, ZoneInfo(community.timezone))


@lru_cache(maxsize=64)
def _bank_holidays(subdiv: str, year: int) -> holidays.HolidayBase:
    return holidays.UK(subdiv=subdiv, years=year)


def bank_holiday(nation: str, day: date) -> str | None:
    """The name of the bank holiday on ``day`` in ``nation`` (England, Wales...), if it is one."""
    subdiv = NATIONS.get(nation, "ENG")
    name = _bank_holidays(subdiv, day.year).get(day)
    return str(name) if name else None


# ---------------------------------------------------------------- what a nudge says


def next_prompt(session: Session, community: CommunityOfPractice) -> NudgePrompt | None:
    """The community's next prompt in the rotation, moving its place on (None: bank empty)."""
    prompts = list_prompts(session, community.area)
    if not prompts and ensure_builtin_prompts(session):
        prompts = list_prompts(session, community.area)
    if not prompts:
        return None
    # prompt_cursor holds the id of the last prompt used: new prompts join the end of the
    # rotation and removing one does not make the community hear another twice.
    after = [p for p in prompts if p.id > community.prompt_cursor]
    prompt = after[0] if after else prompts[0]
    community.prompt_cursor = prompt.id
    return prompt


def waiting_wants(
    session: Session, area: str, *, limit: int = nudge_messages.MAX_WANTS_IN_NUDGE
) -> tuple[list[Post], int]:
    """Open wants in ``area`` with no confirmed introduction, longest-waiting first, and how
    many more there are."""
    confirmed = exists().where(
        Introduction.want_id == Post.id, Introduction.status == IntroductionStatus.CONFIRMED
    )
    where = (
        Post.kind == PostKind.WANT,
        Post.status == PostStatus.OPEN,
        Post.area == area,
        ~confirmed,
    )
    total = int(session.scalar(select(func.count()).select_from(Post).where(*where)) or 0)
    wants = list(
        session.scalars(select(Post).where(*where).order_by(Post.created_at, Post.id).limit(limit))
    )
    return wants, total - len(wants)


def compose_nudge(
    session: Session, community: CommunityOfPractice
) -> tuple[dict[str, object], NudgePrompt | None]:
    """The nudge's message (prompt and waiting wants) and the prompt it used."""
    prompt = next_prompt(session, community)
    wants, more = waiting_wants(session, community.area)
    payload = nudge_messages.nudge(
        community.area,
        prompt.text if prompt else None,
        [post_view(w) for w in wants],
        more_wants=more,
    )
    return payload, prompt


def send_nudge_now(
    session: Session, community: CommunityOfPractice, *, settings: Settings, now: datetime
) -> OutboxMessage:
    """Owe the community a nudge now (a facilitator's "send now"); the weekly slot is untouched."""
    # Two clicks in the same minute send one nudge.
    key = f"nudge-now:{community.id}:{now.astimezone(UTC):%Y%m%dT%H%M}"
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))
    if existing is not None:
        return existing
    payload, _prompt = compose_nudge(session, community)
    return outbox.enqueue(
        session, kind="nudge", channel=community.channel_id, payload=payload, dedupe_key=key
    )


# ---------------------------------------------------------------- running due slots once


def run_due_nudges(
    session_factory: sessionmaker[Session], *, settings: Settings, now: datetime
) -> list[NudgeOutcome]:
    """Send (or skip, with a reason) every community's latest slot that has no run yet.

    Safe to call as often as you like, from as many workers as you like: the run is recorded
    in the same transaction as the nudge it owes, under a unique (community, slot), so each
    slot is decided exactly once.
    """
    community_ids = _undecided(session_factory, now)
    outcomes: list[NudgeOutcome] = []
    for community_id in community_ids:
        try:
            outcome = _run_slot(session_factory, community_id, settings=settings, now=now)
        except IntegrityError:
            # Another worker decided this slot a moment ago: it is theirs.
            logger.info("Community %s: slot already taken by another worker", community_id)
            continue
        except Exception:  # one community's trouble must not stop the others' nudges
            logger.exception("Nudge for community %s failed; will retry next tick", community_id)
            continue
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _undecided(session_factory: sessionmaker[Session], now: datetime) -> list[int]:
    """Communities whose latest slot may need deciding: one read, so an idle tick is cheap."""
    with session_factory() as session:
        communities = list(
            session.scalars(
                select(CommunityOfPractice)
                .where(CommunityOfPractice.paused.is_(False))
                .order_by(CommunityOfPractice.id)
            )
        )
        slots = {c.id: latest_slot(c, now) for c in communities}
        slots = {c.id: slots[c.id] for c in communities if slots[c.id] >= c.created_at}
        if not slots:
            return []
        decided = {
            (row.community_id, row.slot)
            for row in session.execute(
                select(NudgeRun.community_id, NudgeRun.slot).where(
                    NudgeRun.slot.in_(set(slots.values()))
                )
            )
        }
    # _run_slot checks again inside its own transaction; this only saves opening one.
    return [cid for cid, slot in slots.items() if (cid, slot) not in decided]


def _run_slot(
    session_factory: sessionmaker[Session],
    community_id: int,
    *,
    settings: Settings,
    now: datetime,
) -> NudgeOutcome | None:
    grace = timedelta(minutes=settings.nudge_grace_minutes)
    with session_factory.begin() as session:
        community = session.get(CommunityOfPractice, community_id)
        if community is None or community.paused:
            return None
        slot = latest_slot(community, now)
        if slot < community.created_at:
            return None  # the slot passed before the community existed: not one of its own
        if (
            session.scalar(
                select(NudgeRun.id).where(
                    NudgeRun.community_id == community.id, NudgeRun.slot == slot
                )
            )
            is not None
        ):
            return None
        late = now - slot
        if late > grace and slot < community.changed_at:
            return None  # a slot that passed before the last change was not "missed"
        run = NudgeRun(community_id=community.id, slot=slot, status=SENT, created_at=now)
        session.add(run)
        # Claim the slot before doing anything else: a second worker waits here, then fails.
        session.flush()
        local = slot.astimezone(ZoneInfo(community.timezone))
        holiday = bank_holiday(community.nation, local.date())
        if holiday is not None:
            run.status, run.reason = SKIPPED, f"bank holiday: {holiday}"
            logger.info("No nudge for #%s on %s: %s", community.name, local.date(), run.reason)
            return _outcome(community, run)
        if late > grace:
            run.status = SKIPPED
            run.reason = (
                f"missed: the worker found the {local:%a %d %b %H:%M} slot "
                f"{_minutes(late)} late, after the {settings.nudge_grace_minutes}-minute "
                f"grace window"
            )
            logger.warning("No nudge for #%s: %s", community.name, run.reason)
            return _outcome(community, run)
        payload, prompt = compose_nudge(session, community)
        msg = outbox.enqueue(
            session,
            kind="nudge",
            channel=community.channel_id,
            payload=payload,
            dedupe_key=f"nudge:{community.id}:{slot.isoformat()}",
        )
        run.prompt_id = prompt.id if prompt else None
        if late > timedelta(minutes=1):
            run.reason = f"sent {_minutes(late)} late"
            logger.info("Nudge for #%s %s", community.name, run.reason)
        else:
            logger.info("Nudge for #%s owed for its %s slot", community.name, f"{local:%H:%M}")
        session.flush()
        return _outcome(community, run, msg.id)


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _outcome(
    community: CommunityOfPractice, run: NudgeRun, outbox_id: int | None = None
) -> NudgeOutcome:
    return NudgeOutcome(
        community_id=community.id,
        channel_id=community.channel_id,
        slot=run.slot,
        status=run.status,
        reason=run.reason,
        outbox_id=outbox_id,
    )
