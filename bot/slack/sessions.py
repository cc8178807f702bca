"""Live marketplace sessions: the board (updated in place), the outputs, each participant's DM,
and the facilitator's view of the session. Pure builders from the view objects defined here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.kernel.text import escape, truncate
from bot.slack.kit import channel_ref, clock_text, context, counted, people, section

TOP_AREAS = 5


@dataclass(frozen=True)
class SessionPostLine:
    """One post of a session, as the board and the outputs show it."""

    id: int
    kind: str  # want, offer
    council: str
    text: str
    area: str | None


@dataclass(frozen=True)
class SessionIntroductionLine:
    """An introduction made during a session."""

    want: SessionPostLine
    offer: SessionPostLine


@dataclass(frozen=True)
class SessionView:
    """A live session's state: what the board, the outputs and the facilitator see."""

    id: int
    channel: str
    started_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    now: datetime
    wants: int
    offers: int
    participants: int
    demand: tuple[tuple[str, int], ...]  # (service area, wants), most first; unplaced left out
    supply: tuple[tuple[str, int], ...]  # (area, offers), most first
    introductions: tuple[SessionIntroductionLine, ...]
    unmatched_wants: tuple[SessionPostLine, ...]
    latest: tuple[SessionPostLine, ...] = ()

    @property
    def posts(self) -> int:
        """How many posts were made in the session (removed ones left out)."""
        return self.wants + self.offers

    @property
    def minutes_left(self) -> int:
        """Whole minutes left (rounded up), 0 once over."""
        if self.ended_at is not None:
            return 0
        return max(0, math.ceil((self.ends_at - self.now).total_seconds() / 60))


@dataclass(frozen=True)
class ParticipantMatches:
    """What one participant is told when a session ends: their posts and their matches."""

    slack_user_id: str
    posts: tuple[SessionPostLine, ...]
    matches: tuple[tuple[SessionPostLine, SessionPostLine], ...]  # (theirs, the other side)


def _in_area(area: str | None) -> str:
    """ " (Waste management)" after a post placed in a service area; nothing otherwise."""
    return f" ({escape(area)})" if area else ""


def _top(pairs: Sequence[tuple[str, int]], noun: str, total: int) -> str:
    """The top areas; posts the classifier placed in no service area are counted apart, so
    "Other" never crowds out the areas a facilitator can act on."""
    unplaced = total - sum(c for _, c in pairs)
    if not total:
        return f"No {noun} yet."
    lines = [
        f"{n}. {escape(a)}: {c} {noun if c != 1 else noun[:-1]}"
        for n, (a, c) in enumerate(pairs[:TOP_AREAS], 1)
    ]
    if unplaced:
        lines.append(
            f"_Not placed in a service area: {unplaced} {noun if unplaced != 1 else noun[:-1]}_"
        )
    return "\n".join(lines)


def _post(p: SessionPostLine, limit: int = 90) -> str:
    return f"#{p.id} {escape(p.council)}: “{escape(truncate(p.text, limit))}”{_in_area(p.area)}"


def _intro(i: SessionIntroductionLine) -> str:
    return (
        f"• *{escape(i.offer.council)}* can help *{escape(i.want.council)}*: "
        f"“{escape(truncate(i.want.text, 70))}”{_in_area(i.want.area)}"
    )


def tally(posts: int, wants: int, offers: int, participants: int, *, so_far: bool = False) -> str:
    """ "3 posts (2 wants, 1 offer) from 3 people" ("3 posts so far (…" while it runs)."""
    return (
        f"{counted(posts, 'post')}{' so far' if so_far else ''} "
        f"({counted(wants, 'want')}, {counted(offers, 'offer')}) from {people(participants)}"
    )


def _tally(view: SessionView, *, so_far: bool = False) -> str:
    return tally(view.posts, view.wants, view.offers, view.participants, so_far=so_far)


def board(view: SessionView) -> dict[str, Any]:
    """The session's board: updated in place as posts arrive, and once more when it ends."""
    if view.ended_at is not None:
        heading = f"*Marketplace session: ended at {clock_text(view.ended_at)}*"
        timing = "Thank you, everyone. The outputs are below."
    else:
        heading = f"*Live marketplace session: until {clock_text(view.ends_at)}*"
        timing = (
            f"{counted(view.minutes_left, 'minute')} left. Post with `/want` or `/offer` and "
            "you'll be introduced to whoever can help."
        )
    blocks = [
        section(heading),
        context(_tally(view, so_far=True), timing),
        section("*Most wanted*\n" + _top(view.demand, "wants", view.wants)),
        section("*Most offered*\n" + _top(view.supply, "offers", view.offers)),
    ]
    intros = "\n".join(_intro(i) for i in view.introductions[-8:])
    if len(view.introductions) > 8:
        intros = f"… and {len(view.introductions) - 8} earlier\n" + intros
    blocks.append(
        section(
            f"*Introductions made: {len(view.introductions)}*\n"
            + (intros or "None yet: the first match is introduced here as soon as it's made.")
        )
    )
    if view.latest and view.ended_at is None:
        blocks.append(context("Latest: " + " · ".join(_post(p, 60) for p in view.latest[:3])))
    text = (
        f"Marketplace session: {counted(view.posts, 'post')}, "
        f"{counted(len(view.introductions), 'introduction')}"
    )
    return {"text": text, "blocks": blocks}


def _listed(title: str, lines: list[str], none: str, shown: int = 25) -> dict[str, Any]:
    """A section titled with how many lines there are, showing the first ``shown``."""
    more = f"\n… and {len(lines) - shown} more" if len(lines) > shown else ""
    return section(f"*{title} ({len(lines)})*\n" + ("\n".join(lines[:shown]) or none) + more)


def outputs(view: SessionView) -> dict[str, Any]:
    """The session's outputs, posted in its channel when it ends."""
    blocks = [
        section(
            f"*Marketplace session outputs* ({clock_text(view.started_at)} to "
            f"{clock_text(view.ended_at or view.ends_at)}): {counted(view.posts, 'post')} from "
            f"{people(view.participants)}, {counted(len(view.introductions), 'introduction')}."
        ),
        _listed("Introductions made", [_intro(i) for i in view.introductions], "None this time."),
        _listed(
            "Wants still unmatched",
            [f"• {_post(p)}" for p in view.unmatched_wants],
            "None: every want found a match.",
        ),
        section("*Top 5 areas of demand*\n" + _top(view.demand, "wants", view.wants)),
        section("*Top 5 areas of supply*\n" + _top(view.supply, "offers", view.offers)),
    ]
    return {"text": "Marketplace session outputs", "blocks": blocks}


def participant_matches(found: ParticipantMatches) -> dict[str, Any]:
    """A participant's own matches from the session, in a DM."""
    if found.matches:
        lines = [
            f"• Your {mine.kind} #{mine.id} “{escape(truncate(mine.text, 60))}” and "
            f"{escape(other.council)}'s {other.kind} #{other.id} "
            f"“{escape(truncate(other.text, 60))}”"
            for mine, other in found.matches
        ]
        body = "*Your matches from the marketplace session*\n" + "\n".join(lines[:20])
        tail = "Each introduction is in the marketplace thread of the want: say hello there."
    else:
        body = (
            f"*Thank you for taking part in the marketplace session.* Your "
            f"{counted(len(found.posts), 'post')} found no match yet."
        )
        tail = "They stay open: you'll be introduced as soon as someone can help."
    return {
        "text": "Your matches from the marketplace session",
        "blocks": [section(body), context(tail)],
    }


def status(view: SessionView | None) -> str:
    """The facilitator's view of the current session (mrkdwn)."""
    if view is None:
        return (
            "No marketplace session is running. Start one with `/km-admin session start "
            "[minutes] [#channel]`."
        )
    return "\n".join(
        [
            f"*Marketplace session in {channel_ref(view.channel)}* until "
            f"{clock_text(view.ends_at)} ({counted(view.minutes_left, 'minute')} left)",
            f"{_tally(view)}; {counted(len(view.introductions), 'introduction')} made; "
            f"{counted(len(view.unmatched_wants), 'want')} unmatched.",
            "*Most wanted*: "
            + (", ".join(f"{escape(a)} ({c})" for a, c in view.demand[:TOP_AREAS]) or "none yet"),
            "*Most offered*: "
            + (", ".join(f"{escape(a)} ({c})" for a, c in view.supply[:TOP_AREAS]) or "none yet"),
            "End it now with `/km-admin session end`.",
        ]
    )


def started(view: SessionView) -> str:
    """What the facilitator is told when the session starts."""
    return (
        f"Started a {round((view.ends_at - view.started_at).total_seconds() / 60)}-minute "
        f"marketplace session in {channel_ref(view.channel)}, until {clock_text(view.ends_at)}. "
        "The board there updates as posts arrive; `/km-admin session end` closes it early."
    )


def ended(view: SessionView) -> str:
    """What the facilitator is told when they end the session."""
    return (
        f"Ended the marketplace session: {counted(view.posts, 'post')}, "
        f"{counted(len(view.introductions), 'introduction')}. The outputs are in "
        f"{channel_ref(view.channel)} and each participant gets their matches in a direct message."
    )
