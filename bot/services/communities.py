"""Communities of practice and their prompt bank: the services facilitators call."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.kernel.data import PROMPTS_FILE
from bot.kernel.errors import InvalidInput, NotFound
from bot.kernel.text import (
    clean_post_text,
    escape,
    has_visible_text,
    is_channel_id,
    visible_length,
)
from bot.kernel.vocabulary import KNOWLEDGE_AREAS
from storage.models import CommunityOfPractice, NudgePrompt, utcnow

DEFAULT_TIMEZONE = "Europe/London"
MAX_PROMPT_LENGTH = 600

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# The UK nations and the subdivision codes the ``holidays`` package uses for their bank holidays.
NATIONS = {
    "England": "ENG",
    "Wales": "WLS",
    "Scotland": "SCT",
    "Northern Ireland": "NIR",
}
_NATION_ALIASES = {
    "eng": "England",
    "england": "England",
    "wls": "Wales",
    "wales": "Wales",
    "cymru": "Wales",
    "sct": "Scotland",
    "scotland": "Scotland",
    "nir": "Northern Ireland",
    "ni": "Northern Ireland",
    "northern ireland": "Northern Ireland",
}
# "Tuesday", "Tuesdays", "tue", "tues", "thur", "thurs", "weds": how people write days.
_DAY_WORDS = {
    word: index
    for index, name in enumerate(WEEKDAYS)
    for word in (name.lower(), name.lower() + "s", name.lower()[:3])
} | {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
_CHANNEL_MENTION = re.compile(r"^<#([A-Z0-9]+)(?:\|([^>]*))?>$")
_TIME = re.compile(
    r"^(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?$", re.IGNORECASE
)


class CommunityError(InvalidInput):
    """A community of practice cannot be set up or changed as asked."""


# ---------------------------------------------------------------- parsing what facilitators type


def parse_weekday(text: str) -> int:
    """ "tue", "Tuesday", "2" (ISO numbering, Monday is 1) and the like -> 0..6, Monday as 0."""
    raw = (text or "").strip().lower().rstrip(".")
    if not raw:
        raise InvalidInput("Which day? For example `Tuesday`.")
    if raw.isascii() and raw.isdigit():
        number = int(raw)
        if 1 <= number <= 7:
            return number - 1
        raise InvalidInput(f"{escape(raw)} is not a day: use 1 (Monday) to 7 (Sunday).")
    day = _DAY_WORDS.get(raw)
    if day is None:
        raise InvalidInput(
            f"I don't know the day {escape(text.strip())}. Use a day such as `Tuesday` or `tue`."
        )
    return day


def parse_time_of_day(text: str) -> str:
    """ "10:00", "10am", "9.30", "2:30pm" -> "HH:MM" (24-hour)."""
    raw = (text or "").strip().replace(" ", "")
    if not raw:
        raise InvalidInput("What time? For example `10:00` or `10am`.")
    if len(raw) == 4 and raw.isascii() and raw.isdigit():
        raw = f"{raw[:2]}:{raw[2:]}"  # "0930", as on a railway timetable
    match = _TIME.match(raw)
    if not match:
        raise InvalidInput(
            f"I can't read {escape(text.strip())} as a time. "
            "Use 24-hour time such as `10:00` or `14:30`, or `10am`."
        )
    hour, minute = int(match["h"]), int(match["m"] or 0)
    ampm = (match["ampm"] or "").lower().replace(".", "")
    if match["m"] is None and not ampm:
        # A bare "2" could be 2am or 2pm: ask rather than guess.
        raise InvalidInput(
            f"Is {escape(raw)} in the morning or the afternoon? Write `{hour}:00`, "
            f"`{hour}am` or `{hour}pm`."
        )
    if ampm:
        if not 1 <= hour <= 12:
            raise InvalidInput(f"{escape(text.strip())} is not a time: with am/pm use 1 to 12.")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        raise InvalidInput(f"{escape(text.strip())} is not a time of day.")
    return f"{hour:02d}:{minute:02d}"


def parse_nation(text: str) -> str:
    """ "England", "wales", "SCT", "NI" -> the nation's name as stored."""
    nation = _NATION_ALIASES.get((text or "").strip().lower())
    if nation is None:
        raise InvalidInput(
            f"I don't know the nation {escape((text or '').strip())}. "
            "Use England, Wales, Scotland or Northern Ireland (its bank holidays are skipped)."
        )
    return nation


def parse_area(text: str) -> str:
    """A knowledge area code (IM, CF, CO, OL) from its code or full name."""
    raw = (text or "").strip()
    for code, name in KNOWLEDGE_AREAS.items():
        if raw.upper() == code or raw.lower() == name.lower():
            return code
    raise InvalidInput(
        "Knowledge area must be one of "
        + ", ".join(f"{code} ({name})" for code, name in KNOWLEDGE_AREAS.items())
        + "."
    )


def check_timezone(name: str) -> str:
    """The IANA time zone name, if Python knows it."""
    name = (name or "").strip() or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"I don't know the time zone {escape(name)}. Use a name such as `Europe/London`."
        ) from None
    return name


def slot_text(community: CommunityOfPractice) -> str:
    """ "Tuesdays at 10:00 (Europe/London)"."""
    return f"{WEEKDAYS[community.weekday]}s at {community.time_of_day} ({community.timezone})"


# ---------------------------------------------------------------- communities


def add_community(
    session: Session,
    *,
    channel_id: str,
    name: str,
    area: str,
    weekday: int,
    time_of_day: str,
    timezone: str = DEFAULT_TIMEZONE,
    nation: str = "England",
    now: datetime | None = None,
) -> CommunityOfPractice:
    """Register a channel as a community of practice with its weekly slot."""
    channel_id = (channel_id or "").strip()
    mention = _CHANNEL_MENTION.match(channel_id)
    if mention:
        channel_id = mention.group(1)
        name = name or mention.group(2) or ""
    if not channel_id:
        raise CommunityError("Which channel? Give the community's channel, e.g. `#km-im-cop`.")
    name = clean_post_text(name or "").lstrip("#")[:120] or channel_id
    if not isinstance(weekday, int) or not 0 <= weekday <= 6:
        raise CommunityError("The weekday must be 0 (Monday) to 6 (Sunday).")
    existing = session.scalar(
        select(CommunityOfPractice).where(CommunityOfPractice.channel_id == channel_id)
    )
    if existing is not None:
        raise CommunityError(
            f"#{escape(existing.name)} is already a community of practice ({slot_text(existing)})."
        )
    now = now or utcnow()
    community = CommunityOfPractice(
        channel_id=channel_id,
        name=name,
        area=parse_area(area),
        weekday=weekday,
        time_of_day=parse_time_of_day(time_of_day),
        timezone=check_timezone(timezone),
        nation=parse_nation(nation),
        paused=False,
        prompt_cursor=0,
        created_at=now,
        changed_at=now,
    )
    session.add(community)
    session.flush()
    return community


def find_community(session: Session, ref: str) -> CommunityOfPractice:
    """A community by channel id, channel mention, "#name", name or number."""
    raw = (ref or "").strip()
    if not raw:
        raise NotFound("Which community? Give its channel, e.g. `#km-im-cop`.")
    mention = _CHANNEL_MENTION.match(raw)
    if mention:
        raw = mention.group(1)
    found: CommunityOfPractice | None = None
    if is_channel_id(raw):
        found = session.scalar(
            select(CommunityOfPractice).where(CommunityOfPractice.channel_id == raw)
        )
    if found is None and raw.isascii() and raw.isdigit():
        found = session.get(CommunityOfPractice, int(raw))
    if found is None:
        name = raw.lstrip("#").lower()
        found = session.scalar(
            select(CommunityOfPractice)
            .where(func.lower(CommunityOfPractice.name) == name)
            .order_by(CommunityOfPractice.id)
            .limit(1)
        )
    if found is None:
        raise NotFound(
            f"There is no community of practice called {escape(ref.strip())}. "
            "List them with `/km-admin communities`."
        )
    return found


def list_communities(session: Session) -> list[CommunityOfPractice]:
    """Every community of practice, by name."""
    return list(
        session.scalars(
            select(CommunityOfPractice).order_by(
                func.lower(CommunityOfPractice.name), CommunityOfPractice.id
            )
        )
    )


def set_paused(
    session: Session, community: CommunityOfPractice, paused: bool, *, now: datetime | None = None
) -> CommunityOfPractice:
    """Pause or resume a community's weekly nudge (the worker sees it on its next tick)."""
    community.paused = paused
    community.changed_at = now or utcnow()
    session.flush()
    return community


def set_slot(
    session: Session,
    community: CommunityOfPractice,
    *,
    weekday: int | None = None,
    time_of_day: str | None = None,
    timezone: str | None = None,
    nation: str | None = None,
    now: datetime | None = None,
) -> CommunityOfPractice:
    """Move a community's weekly slot (the worker sees it on its next tick)."""
    if weekday is not None:
        if not 0 <= weekday <= 6:
            raise CommunityError("The weekday must be 0 (Monday) to 6 (Sunday).")
        community.weekday = weekday
    if time_of_day is not None:
        community.time_of_day = parse_time_of_day(time_of_day)
    if timezone is not None:
        community.timezone = check_timezone(timezone)
    if nation is not None:
        community.nation = parse_nation(nation)
    community.changed_at = now or utcnow()
    session.flush()
    return community


def remove_community(session: Session, community: CommunityOfPractice) -> None:
    """Stop nudging a channel and forget its community (its run history goes with it)."""
    from storage.models import NudgeRun

    # Deleted explicitly too: SQLite only cascades when foreign keys are on for the connection.
    for run in session.scalars(select(NudgeRun).where(NudgeRun.community_id == community.id)):
        session.delete(run)
    session.delete(community)
    session.flush()


# ---------------------------------------------------------------- the prompt bank


def add_prompt(
    session: Session, text: str, area: str | None = None, created_by_id: int | None = None
) -> NudgePrompt:
    """Add a facilitator's own prompt to the bank, for one area or (with no area) every area."""
    text = clean_post_text(text or "")
    if not has_visible_text(text):
        raise InvalidInput("What should the prompt say? The text is empty.")
    length = visible_length(text)
    if length > MAX_PROMPT_LENGTH:
        raise InvalidInput(
            f"That prompt is {length:,} characters; please keep it under {MAX_PROMPT_LENGTH}."
        )
    if length < 10:
        raise InvalidInput("That prompt is too short to start a conversation. Say a little more.")
    code = parse_area(area) if area and area.strip() else None
    prompt = NudgePrompt(
        area=code, text=text, builtin=False, active=True, created_by_id=created_by_id
    )
    session.add(prompt)
    session.flush()
    return prompt


def list_prompts(session: Session, area: str | None = None) -> list[NudgePrompt]:
    """The active prompts, optionally those a community in ``area`` would use, in bank order."""
    stmt = select(NudgePrompt).where(NudgePrompt.active.is_(True))
    if area:
        code = parse_area(area)
        stmt = stmt.where((NudgePrompt.area == code) | NudgePrompt.area.is_(None))
    return list(session.scalars(stmt.order_by(NudgePrompt.id)))


def remove_prompt(session: Session, prompt_id: int) -> NudgePrompt:
    """Take a prompt out of the rotation (kept, inactive, so past nudges still name it)."""
    prompt = session.get(NudgePrompt, prompt_id)
    if prompt is None or not prompt.active:
        raise NotFound(f"There is no prompt #{prompt_id} in the bank.")
    prompt.active = False
    session.flush()
    return prompt


def builtin_prompts() -> list[tuple[str, str]]:
    """(area, text) of every prompt shipped in bot/data/prompts.csv."""
    with PROMPTS_FILE.open(encoding="utf-8", newline="") as fh:
        return [
            (row["area"].strip().upper(), row["text"].strip())
            for row in csv.DictReader(fh)
            if row.get("text", "").strip()
        ]


def ensure_builtin_prompts(session: Session) -> int:
    """Load the shipped prompts that are not yet in the bank; returns how many were added."""
    known = set(session.scalars(select(NudgePrompt.text).where(NudgePrompt.builtin.is_(True))))
    added = 0
    for area, text in builtin_prompts():
        # A removed built-in prompt stays inactive: compare with every built-in, active or not.
        if text in known:
            continue
        session.add(NudgePrompt(area=area, text=text, builtin=True, active=True))
        known.add(text)
        added += 1
    if added:
        session.flush()
    return added
