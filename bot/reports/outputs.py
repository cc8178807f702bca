"""The marketplace's outputs for a quarter, as facilitators show sponsors: the top areas of demand
and of supply (LGSL service areas), the gaps (demand with no supply, by region), the sessions
run, and the outcomes: introductions that led somewhere, days saved, and the notes members
agreed to share ("Lewisham saved Nottinghamshire about 6 months' work: …").

Posts are classified into service areas when they are published (``Post.service_area``); a post
stored before that was done is classified here as it is read.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from bot.kernel.clock import uk_midnight, uk_time, utcnow
from bot.kernel.errors import InvalidInput
from bot.kernel.text import escape, truncate
from bot.matching import Glossary, normalise
from bot.reference.lgsl import UNCLASSIFIED, ServiceAreaClassifier
from storage.models import (
    Council,
    Introduction,
    IntroductionStatus,
    MarketSession,
    Member,
    Outcome,
    Post,
    PostKind,
    PostStatus,
)

TOP = 5
SENTENCE_SHOWN = 300  # characters of an outcome's sentence shown in Slack (the CSV has it all)
UNKNOWN_REGION = "Region not known"


# ---------------------------------------------------------------- service areas


@functools.lru_cache(maxsize=4)
def classifier(glossary: Glossary | None = None) -> ServiceAreaClassifier:
    """The LGSL service-area classifier, reading texts as matching does with ``glossary`` (the
    shipped one by default; the running bot passes the network's). Built once each, ~0.4 s."""
    read_with = glossary or Glossary.default()
    return ServiceAreaClassifier.from_files(lambda text: normalise(text, read_with).terms)


def terms_of(text: str, glossary: Glossary | None = None) -> list[str]:
    """A text's terms as the classifier reads them (matching's normaliser and glossary)."""
    return list(normalise(text, glossary or Glossary.default()).terms)


def service_area_of(text: str, glossary: Glossary | None = None) -> str | None:
    """The LGSL top-level function a post's text is about, or None if none stands out. Posts
    are classified when they are published or edited, with the network's glossary."""
    return classifier(glossary).classify_terms(terms_of(text, glossary))


def area_of(post: Post) -> str:
    """A post's service area as reports count it (a post stored before service areas were is
    classified now, with the shipped glossary)."""
    return post.service_area or service_area_of(post.text) or UNCLASSIFIED


# ---------------------------------------------------------------- quarters


@dataclass(frozen=True)
class Quarter:
    """A calendar quarter, as UK clocks count it."""

    year: int
    number: int  # 1..4

    @property
    def label(self) -> str:
        """ "Q3 2026 (Jul–Sep)"."""
        months = ("Jan–Mar", "Apr–Jun", "Jul–Sep", "Oct–Dec")[self.number - 1]
        return f"Q{self.number} {self.year} ({months})"

    @property
    def key(self) -> str:
        """ "2026-Q3", for files and JSON."""
        return f"{self.year}-Q{self.number}"

    def bounds(self) -> tuple[datetime, datetime]:
        """The quarter's first instant and the next quarter's, in UTC."""
        first = date(self.year, 3 * self.number - 2, 1)
        nxt = date(
            self.year + (self.number == 4), 1 if self.number == 4 else 3 * self.number + 1, 1
        )
        return uk_midnight(first), uk_midnight(nxt)

    @classmethod
    def of(cls, when: datetime) -> Quarter:
        """The quarter ``when`` falls in, in the UK."""
        local = uk_time(when)
        return cls(local.year, (local.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, text: str | None, *, now: datetime) -> Quarter:
        """ "2026Q3", "2026-Q3", "Q3 2026", "Q3" (this year) or nothing (this quarter)."""
        text = (text or "").strip()
        if not text:
            return cls.of(now)
        match = re.fullmatch(
            r"(?:(\d{4})\s*-?\s*[qQ]([1-4])|[qQ]([1-4])(?:\s*-?\s*(\d{4}))?)", text
        )
        if match is None:
            raise InvalidInput(
                f"“{escape(text[:20])}” is not a quarter. Try `Q3 2026`, `2026-Q3` or just `Q3` "
                "(this year); leave it out for this quarter."
            )
        year = match.group(1) or match.group(4)
        number = match.group(2) or match.group(3)
        return cls(int(year) if year else uk_time(now).year, int(number))


# ---------------------------------------------------------------- the outputs


@dataclass(frozen=True)
class Gap:
    """Demand with no supply: wants in a service area from one region, and no offer for it."""

    region: str
    area: str
    wants: int


@dataclass(frozen=True)
class OutcomeLine:
    """An introduction that led somewhere, as a sponsor reads it."""

    helper: str | None  # the council that offered (its short name: "Lewisham")
    helped: str  # the council that wanted ("Nottinghamshire")
    days: float | None
    note: str | None  # only if the member agreed to share it
    area: str

    @property
    def sentence(self) -> str:
        """ "Lewisham saved Nottinghamshire about 6 months' work: <note>" (the note only if the
        member agreed to share it)."""
        if self.helper and self.days:
            lead = f"{self.helper} saved {self.helped} {work_text(self.days)}"
        elif self.helper:
            lead = f"{self.helper} helped {self.helped}"
        elif self.days:
            lead = f"{self.helped} saved {work_text(self.days)}"
        else:
            lead = f"{self.helped} found what it needed"
        # One line: a note typed over several lines is read as one.
        note = " ".join((self.note or "").split())
        return f"{lead}: {note}" if note else lead


@dataclass(frozen=True)
class Outputs:
    """A quarter's outputs."""

    quarter: Quarter
    posts: int
    demand: list[tuple[str, int]]  # (service area, wants), most first: every area placed
    supply: list[tuple[str, int]]
    unplaced_wants: int  # posts placed in no service area, counted apart from the top areas
    unplaced_offers: int
    gaps: list[Gap]
    sessions: int
    session_posts: int
    introductions: int
    led_somewhere: int
    days_saved: float
    outcomes: list[OutcomeLine]

    @property
    def stories(self) -> list[OutcomeLine]:
        """The outcomes a sponsor can read as a story: who helped whom, or a shared note."""
        return [o for o in self.outcomes if o.helper or o.note]

    def as_json(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "quarter": self.quarter.key,
            "posts": self.posts,
            "top_demand": [{"area": a, "wants": n} for a, n in self.demand[:TOP]],
            "top_supply": [{"area": a, "offers": n} for a, n in self.supply[:TOP]],
            "unplaced": {"wants": self.unplaced_wants, "offers": self.unplaced_offers},
            "gaps": [{"region": g.region, "area": g.area, "wants": g.wants} for g in self.gaps],
            "sessions": self.sessions,
            "session_posts": self.session_posts,
            "introductions": self.introductions,
            "introductions_led_somewhere": self.led_somewhere,
            "days_saved": self.days_saved,
            "outcomes": [
                {
                    "helper": o.helper,
                    "helped": o.helped,
                    "days": o.days,
                    "area": o.area,
                    "note": o.note,
                    "sentence": o.sentence,
                }
                for o in self.outcomes
            ],
        }


WORKING_DAYS_A_WEEK = 5
WORKING_DAYS_A_MONTH = 21
WORKING_DAYS_A_YEAR = 12 * WORKING_DAYS_A_MONTH


def _about(amount: float) -> int:
    # Half up, as people round (Python's round() would make 2.5 weeks "2 weeks").
    return int(amount + 0.5)


def work_text(days: float) -> str:
    """Working days as people say them: "half a day's", "4 days'", "about 3 weeks'", "about 6
    months'", "about 3 years'" work (5 working days a week, about 21 a month)."""
    if days < 1:
        return "half a day's work" if days == 0.5 else "less than a day's work"
    if days == 1:
        return "a day's work"
    if days < 2 * WORKING_DAYS_A_WEEK:
        return f"{days:g} days' work"
    if days < 2 * WORKING_DAYS_A_MONTH:
        return f"about {_about(days / WORKING_DAYS_A_WEEK)} weeks' work"
    months = _about(days / WORKING_DAYS_A_MONTH)
    if months < 24:
        return f"about {months} months' work"
    return f"about {_about(days / WORKING_DAYS_A_YEAR)} years' work"


def _short(short_name: str | None, name: str | None) -> str | None:
    """A council as people say it in a sentence: "Lewisham", not "London Borough of Lewisham"
    (the full name where the directory gives no short one)."""
    return (short_name or "").strip() or name


def ranked(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """(area, count) pairs, most first, then by name."""
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))


def collect_outputs(
    session: Session, quarter: Quarter | None = None, *, now: datetime | None = None
) -> Outputs:
    """The quarter's outputs (this quarter by default), read in one transaction."""
    now = now or utcnow()
    quarter = quarter or Quarter.of(now)
    start, end = quarter.bounds()
    in_quarter = (Post.created_at >= start) & (Post.created_at < end)
    demand: Counter[str] = Counter()
    supply: Counter[str] = Counter()
    wants_by_region: Counter[tuple[str, str]] = Counter()
    posts = 0
    session_posts = 0
    for post, region in session.execute(
        select(Post, Council.region)
        .join(Council, Post.council_id == Council.id)
        .where(in_quarter, Post.status != PostStatus.REMOVED)
    ):
        posts += 1
        session_posts += post.session_id is not None
        area = area_of(post)
        if post.kind == PostKind.WANT:
            demand[area] += 1
            wants_by_region[(region or UNKNOWN_REGION, area)] += 1
        else:
            supply[area] += 1
    # Supply is what was offered this quarter or was still open in it: an offer from an earlier
    # quarter meets this quarter's wants (though it is not counted in this quarter's supply).
    offered = set(supply) | {
        area_of(post)
        for post in session.scalars(
            select(Post).where(
                Post.kind == PostKind.OFFER,
                Post.status != PostStatus.REMOVED,
                Post.created_at < start,
                or_(
                    Post.status == PostStatus.OPEN,
                    func.coalesce(Post.closed_at, Post.changed_at) >= start,
                ),
            )
        )
    }
    gaps = [
        Gap(region, area, n)
        for (region, area), n in wants_by_region.items()
        if area != UNCLASSIFIED and area not in offered
    ]
    gaps.sort(key=lambda g: (-g.wants, g.region, g.area))

    introductions = int(
        session.scalar(
            select(func.count(Introduction.id)).where(
                Introduction.created_at >= start,
                Introduction.created_at < end,
                Introduction.held_at.is_(None),
            )
        )
        or 0
    )
    led = int(
        session.scalar(
            select(func.count(Introduction.id)).where(
                Introduction.created_at >= start,
                Introduction.created_at < end,
                Introduction.held_at.is_(None),
                or_(
                    Introduction.status == IntroductionStatus.CONFIRMED,
                    Introduction.id.in_(
                        select(Outcome.introduction_id).where(Outcome.introduction_id.is_not(None))
                    ),
                ),
            )
        )
        or 0
    )
    want, offer = aliased(Post), aliased(Post)
    wanted_by, offered_by = aliased(Council), aliased(Council)
    lines: list[OutcomeLine] = []
    days_saved = 0.0
    for outcome, want_post, helped, helped_short, helper, helper_short in session.execute(
        select(
            Outcome,
            want,
            wanted_by.name,
            wanted_by.short_name,
            offered_by.name,
            offered_by.short_name,
        )
        .join(want, Outcome.post_id == want.id)
        .join(wanted_by, want.council_id == wanted_by.id)
        .outerjoin(Introduction, Outcome.introduction_id == Introduction.id)
        .outerjoin(offer, Introduction.offer_id == offer.id)
        .outerjoin(offered_by, offer.council_id == offered_by.id)
        .where(Outcome.created_at >= start, Outcome.created_at < end)
        .order_by(Outcome.days_saved.desc().nulls_last(), Outcome.id)
    ):
        days_saved += outcome.days_saved or 0
        lines.append(
            OutcomeLine(
                helper=_short(helper_short, helper),
                helped=_short(helped_short, helped) or "A council",
                days=outcome.days_saved,
                note=outcome.note if outcome.share_note else None,
                area=area_of(want_post),
            )
        )
    sessions = int(
        session.scalar(
            select(func.count(MarketSession.id)).where(
                MarketSession.started_at >= start, MarketSession.started_at < end
            )
        )
        or 0
    )
    return Outputs(
        quarter=quarter,
        posts=posts,
        # "Other" would top the lists and tell a sponsor nothing: it is counted apart.
        demand=ranked({a: n for a, n in demand.items() if a != UNCLASSIFIED}),
        supply=ranked({a: n for a, n in supply.items() if a != UNCLASSIFIED}),
        unplaced_wants=demand[UNCLASSIFIED],
        unplaced_offers=supply[UNCLASSIFIED],
        gaps=gaps,
        sessions=sessions,
        session_posts=session_posts,
        introductions=introductions,
        led_somewhere=led,
        days_saved=days_saved,
        outcomes=lines,
    )


def _days(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _count(n: float, noun: str) -> str:
    """ "1 introduction", "3 introductions", "12.5 days"."""
    return f"{_days(n)} {noun}{'' if n == 1 else 's'}"


def render(found: Outputs, *, markdown: bool = True) -> str:
    """The outputs as Slack mrkdwn (``markdown``) or plain text for the command line."""

    def bold(text: str) -> str:
        return f"*{text}*" if markdown else text.upper()

    def name(text: str) -> str:
        return escape(text) if markdown else text

    bullet = "•" if markdown else "-"

    def top(pairs: list[tuple[str, int]], noun: str, unplaced: int) -> list[str]:
        if not pairs and not unplaced:
            return [f"No {noun}s this quarter."]
        lines = [
            f"{n}. {name(a)}: {c} {noun}{'s' if c != 1 else ''}"
            for n, (a, c) in enumerate(pairs[:TOP], 1)
        ]
        if unplaced:
            lines.append(f"Not placed in a service area: {_count(unplaced, noun)}")
        return lines

    lines = [
        bold(f"Marketplace outputs, {found.quarter.label}"),
        f"{_count(found.posts, 'post')}, {_count(found.sessions, 'live session')} "
        f"({_count(found.session_posts, 'post')} made in them).",
        "",
        bold("Top 5 areas of demand"),
        *top(found.demand, "want", found.unplaced_wants),
        "",
        bold("Top 5 areas of supply"),
        *top(found.supply, "offer", found.unplaced_offers),
        "",
        bold("Gaps: demand with no supply, by region"),
    ]
    if found.gaps:
        lines += [
            f"{bullet} {name(g.region)}: {name(g.area)} "
            f"({g.wants} want{'s' if g.wants != 1 else ''})"
            for g in found.gaps[:15]
        ]
        if len(found.gaps) > 15:
            lines.append(f"{bullet} … and {len(found.gaps) - 15} more (see the export)")
    else:
        lines.append("None: every area with wants has an offer.")
    lines += [
        "",
        bold("Outcomes"),
        f"{_count(found.introductions, 'introduction')} made; {found.led_somewhere} led "
        f"somewhere; {_count(found.days_saved, 'day')} saved.",
    ]
    lines += [f"{bullet} {name(truncate(o.sentence, SENTENCE_SHOWN))}" for o in found.stories[:10]]
    return "\n".join(lines)


OUTPUT_HEADER = (
    "quarter",
    "section",
    "region",
    "area",
    "count",
    "helper",
    "helped",
    "days",
    "note",
    "sentence",
)


def output_rows(found: Outputs) -> Iterator[tuple[Any, ...]]:
    """The outputs as rows under OUTPUT_HEADER: the quarter's totals and days saved, each top
    area of demand and of supply, each gap, and each outcome (its note only if shared)."""
    q = found.quarter.key
    totals = {
        "posts": found.posts,
        "session_posts": found.session_posts,
        "sessions": found.sessions,
        "introductions": found.introductions,
        "introductions_led_somewhere": found.led_somewhere,
        "wants_unplaced": found.unplaced_wants,
        "offers_unplaced": found.unplaced_offers,
    }
    for total, count in totals.items():
        yield (q, total, "", "", count, "", "", "", "", "")
    yield (q, "days_saved", "", "", "", "", "", found.days_saved, "", "")
    for area, n in found.demand[:TOP]:
        yield (q, "demand", "", area, n, "", "", "", "", "")
    for area, n in found.supply[:TOP]:
        yield (q, "supply", "", area, n, "", "", "", "", "")
    for g in found.gaps:
        yield (q, "gap", g.region, g.area, g.wants, "", "", "", "", "")
    for o in found.outcomes:
        yield (q, "outcome", "", o.area, 1, o.helper, o.helped, o.days, o.note, o.sentence)


def quarters_since(first: datetime | None, *, now: datetime) -> list[Quarter]:
    """Every quarter from the one ``first`` falls in to this one, oldest first."""
    last = Quarter.of(now)
    quarter = Quarter.of(first) if first is not None and first < now else last
    found = []
    while (quarter.year, quarter.number) <= (last.year, last.number):
        found.append(quarter)
        quarter = (
            Quarter(quarter.year + 1, 1)
            if quarter.number == 4
            else Quarter(quarter.year, quarter.number + 1)
        )
    return found


# ---------------------------------------------------------------- live sessions, in numbers


@dataclass(frozen=True)
class SessionSummary:
    """One live marketplace session as stats and the export count it (the board's numbers)."""

    id: int
    channel: str
    started_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    started_by: str | None  # the facilitator's name (or Slack id, if no name is known)
    posts: int
    wants: int
    offers: int
    participants: int
    introductions: int

    @property
    def running(self) -> bool:
        """Not ended yet."""
        return self.ended_at is None

    def as_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (times as ISO 8601 in UTC)."""
        return {
            "id": self.id,
            "channel": self.channel,
            "started_at": self.started_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "running": self.running,
            "started_by": self.started_by,
            "posts": self.posts,
            "wants": self.wants,
            "offers": self.offers,
            "participants": self.participants,
            "introductions": self.introductions,
        }


def made_during(market: MarketSession, want: type[Post], offer: type[Post]) -> ColumnElement[bool]:
    """Which introductions a session counts (``want`` and ``offer``: the introduction's posts,
    aliased): those of its posts, made while it ran, and not held while someone is away. The
    one rule for the board, the outputs, stats and the export."""
    return and_(
        or_(want.session_id == market.id, offer.session_id == market.id),
        Introduction.created_at >= market.started_at,
        Introduction.created_at <= (market.ended_at or market.ends_at),
        Introduction.held_at.is_(None),
    )


def count_sessions(session: Session) -> int:
    """How many live sessions have been run (or are running)."""
    return int(session.scalar(select(func.count(MarketSession.id))) or 0)


def session_summaries(session: Session, *, limit: int | None = None) -> list[SessionSummary]:
    """Sessions, newest first (the ``limit`` most recent): when, where, posts made in them
    (removed ones not counted, as on the board) and the introductions made while they ran."""
    stmt = (
        select(MarketSession, func.coalesce(Member.name, Member.slack_user_id))
        .outerjoin(Member, MarketSession.started_by_id == Member.id)
        .order_by(MarketSession.started_at.desc(), MarketSession.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    markets = list(session.execute(stmt))
    ids = [m.id for m, _ in markets]
    if not ids:
        return []
    shown = (Post.session_id.in_(ids), Post.status != PostStatus.REMOVED)
    kinds: dict[tuple[int | None, PostKind], int] = {
        (session_id, PostKind(kind)): n
        for session_id, kind, n in session.execute(
            select(Post.session_id, Post.kind, func.count(Post.id))
            .where(*shown)
            .group_by(Post.session_id, Post.kind)
        )
    }
    people: dict[int | None, int] = {
        session_id: n
        for session_id, n in session.execute(
            select(Post.session_id, func.count(func.distinct(Post.member_id)))
            .where(*shown)
            .group_by(Post.session_id)
        )
    }
    want, offer = aliased(Post), aliased(Post)
    found = []
    for market, started_by in markets:
        wants = kinds.get((market.id, PostKind.WANT), 0)
        offers = kinds.get((market.id, PostKind.OFFER), 0)
        introductions = session.scalar(
            select(func.count(Introduction.id))
            .join(want, Introduction.want_id == want.id)
            .join(offer, Introduction.offer_id == offer.id)
            .where(made_during(market, want, offer))
        )
        found.append(
            SessionSummary(
                id=market.id,
                channel=market.channel,
                started_at=market.started_at,
                ends_at=market.ends_at,
                ended_at=market.ended_at,
                started_by=started_by,
                posts=wants + offers,
                wants=wants,
                offers=offers,
                participants=people.get(market.id, 0),
                introductions=introductions or 0,
            )
        )
    return found
