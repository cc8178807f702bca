"""Statistics for the network's central team: who takes part, what flows, what it saved."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.kernel.clock import uk_midnight, uk_time
from bot.kernel.text import escape
from bot.kernel.vocabulary import KNOWLEDGE_AREAS
from bot.reports.follow_ups import follow_up_rates  # follow-ups
from bot.reports.outputs import (  # the marketplace's outputs and live sessions
    UNKNOWN_REGION,
    Outputs,
    SessionSummary,
    collect_outputs,
    count_sessions,
    session_summaries,
)
from bot.reports.outputs import render as render_outputs
from bot.slack.followups import FollowUpRates, rates_text  # follow-ups
from bot.slack.kit import channel_ref, clock_text, counted, time_text
from bot.slack.sessions import tally
from storage.models import (
    Council,
    Introduction,
    IntroductionStatus,
    Member,
    Outcome,
    Post,
    PostKind,
    PostStatus,
    utcnow,
)

# The twelve regions of the reference directory: England's nine, then the other nations.
REGIONS: tuple[str, ...] = (
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
    "Scotland",
    "Wales",
    "Northern Ireland",
)
# The network's aim: about three councils taking part in each region.
TARGET_PER_REGION = 3
NO_AREA = "none"
WEEKS_SHOWN = 13
SESSIONS_SHOWN = 5  # the most recent live sessions, in stats


@dataclass(frozen=True)
class RegionCoverage:
    """Councils taking part and their members in one region, against the target."""

    region: str
    councils: int
    members: int
    target: int = TARGET_PER_REGION

    @property
    def met(self) -> bool:
        """The region has at least the target number of councils."""
        return self.councils >= self.target


@dataclass(frozen=True)
class AreaCounts:
    """Posts (wants and offers) in one knowledge area, by status."""

    area: str  # "IM", "CF", "CO", "OL" or NO_AREA
    open: int
    fulfilled: int
    expired: int


@dataclass(frozen=True)
class WeekActivity:
    """Posts and introductions made in one week (Monday to Sunday, UK time)."""

    week_start: date
    posts: int
    introductions: int


@dataclass(frozen=True)
class Statistics:
    """The marketplace in numbers, as facilitators report it to sponsors."""

    generated_at: datetime
    regions: list[RegionCoverage]
    councils_taking_part: int
    members: int
    posts_by_area: list[AreaCounts]
    open_wants: int
    open_offers: int
    introductions_made: int
    introductions_confirmed: int
    introductions_declined: int
    days_saved_total: float
    days_saved_by_council: list[tuple[str, float]]
    unmet_areas: list[tuple[str, int]]  # (area, open wants) where no offer is open
    weekly: list[WeekActivity] = field(default_factory=list)
    # The marketplace's outputs (this quarter): service areas, gaps, sessions, outcomes
    outputs: Outputs | None = None
    # Follow-ups
    follow_ups: FollowUpRates = field(default_factory=FollowUpRates)
    # Live marketplace sessions: how many were run, and the most recent (newest first)
    sessions_run: int = 0
    recent_sessions: list[SessionSummary] = field(default_factory=list)

    @property
    def regions_at_target(self) -> int:
        """How many regions have at least the target number of councils."""
        return sum(1 for r in self.regions if r.region != UNKNOWN_REGION and r.met)

    def as_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (dates as ISO 8601)."""
        data = asdict(self)
        data["generated_at"] = self.generated_at.isoformat()
        data["regions_at_target"] = self.regions_at_target
        data["days_saved_by_council"] = [
            {"council": c, "days": d} for c, d in self.days_saved_by_council
        ]
        data["unmet_areas"] = [{"area": a, "open_wants": n} for a, n in self.unmet_areas]
        data["weekly"] = [
            {
                "week_start": w.week_start.isoformat(),
                "posts": w.posts,
                "introductions": w.introductions,
            }
            for w in self.weekly
        ]
        # The marketplace's outputs
        data["outputs"] = self.outputs.as_json() if self.outputs is not None else None
        # Live marketplace sessions, as one key
        del data["sessions_run"], data["recent_sessions"]
        data["sessions"] = {
            "total": self.sessions_run,
            "recent": [s.as_json() for s in self.recent_sessions],
        }
        return data


def _live_councils() -> Any:
    return Council.merged_into_id.is_(None)


def region_coverage(session: Session) -> list[RegionCoverage]:
    """Councils taking part (a member or a post) and members, for every region."""
    has_member = (
        select(Member.id)
        .where(Member.council_id == Council.id, Member.erased_at.is_(None))
        .exists()
    )
    has_post = select(Post.id).where(Post.council_id == Council.id).exists()
    councils: dict[str, int] = {}
    for region, count in session.execute(
        select(Council.region, func.count(Council.id))
        .where(_live_councils(), or_(has_member, has_post))
        .group_by(Council.region)
    ):
        key = region or UNKNOWN_REGION
        councils[key] = councils.get(key, 0) + int(count)
    members: dict[str, int] = {}
    for region, count in session.execute(
        select(Council.region, func.count(Member.id))
        .join(Council, Member.council_id == Council.id)
        .where(Member.erased_at.is_(None))
        .group_by(Council.region)
    ):
        key = region or UNKNOWN_REGION
        members[key] = members.get(key, 0) + int(count)
    names = list(REGIONS) + sorted((set(councils) | set(members)) - set(REGIONS))
    return [RegionCoverage(r, councils.get(r, 0), members.get(r, 0)) for r in names]


def posts_by_area(session: Session) -> list[AreaCounts]:
    """Open, fulfilled and expired posts in each knowledge area (and those with none)."""
    counts: dict[tuple[str, PostStatus], int] = {}
    for area, status, count in session.execute(
        select(Post.area, Post.status, func.count(Post.id)).group_by(Post.area, Post.status)
    ):
        key = (area or NO_AREA, PostStatus(status))
        counts[key] = counts.get(key, 0) + int(count)
    rows = []
    for area in [*KNOWLEDGE_AREAS, NO_AREA]:
        row = AreaCounts(
            area,
            counts.get((area, PostStatus.OPEN), 0),
            counts.get((area, PostStatus.FULFILLED), 0),
            counts.get((area, PostStatus.EXPIRED), 0),
        )
        if area != NO_AREA or row.open or row.fulfilled or row.expired:
            rows.append(row)
    return rows


def unmet_areas(session: Session) -> list[tuple[str, int]]:
    """Knowledge areas with open wants but no open offer, most wanted first."""
    open_counts: dict[tuple[str, PostKind], int] = {}
    for area, kind, count in session.execute(
        select(Post.area, Post.kind, func.count(Post.id))
        .where(Post.status == PostStatus.OPEN, Post.area.is_not(None))
        .group_by(Post.area, Post.kind)
    ):
        open_counts[(str(area), PostKind(kind))] = int(count)
    unmet = [
        (area, open_counts.get((area, PostKind.WANT), 0))
        for area in KNOWLEDGE_AREAS
        if open_counts.get((area, PostKind.WANT), 0) and not open_counts.get((area, PostKind.OFFER))
    ]
    return sorted(unmet, key=lambda pair: (-pair[1], pair[0]))


def days_saved_by_council(session: Session) -> list[tuple[str, float]]:
    """Days saved by fulfilled wants, per council of the want, most first."""
    rows = session.execute(
        select(Council.name, func.sum(Outcome.days_saved))
        .join(Post, Outcome.post_id == Post.id)
        .join(Council, Post.council_id == Council.id)
        .where(Outcome.days_saved.is_not(None))
        .group_by(Council.name)
    ).all()
    return sorted(
        ((name, float(days or 0)) for name, days in rows), key=lambda pair: (-pair[1], pair[0])
    )


def week_start(day: date) -> date:
    """The Monday of the week ``day`` is in."""
    return day - timedelta(days=day.weekday())


def weekly_activity(
    session: Session, *, now: datetime | None = None, weeks: int = WEEKS_SHOWN
) -> list[WeekActivity]:
    """Posts and introductions made in each of the last ``weeks`` weeks, oldest first.

    Weeks are the UK's: a post made at 23:30 UTC on a Sunday in summer (00:30 BST on Monday)
    counts in the week that Monday begins.
    """
    now = now or utcnow()
    first = week_start(uk_time(now).date()) - timedelta(weeks=weeks - 1)
    since = uk_midnight(first)
    posts: dict[date, int] = {}
    intros: dict[date, int] = {}
    # Binned here rather than in SQL: date truncation differs between SQLite and PostgreSQL.
    for (created,) in session.execute(select(Post.created_at).where(Post.created_at >= since)):
        key = week_start(uk_time(created).date())
        posts[key] = posts.get(key, 0) + 1
    for (created,) in session.execute(
        select(Introduction.created_at).where(
            Introduction.created_at >= since, Introduction.held_at.is_(None)
        )
    ):
        key = week_start(uk_time(created).date())
        intros[key] = intros.get(key, 0) + 1
    days = [first + timedelta(weeks=n) for n in range(weeks)]
    return [WeekActivity(d, posts.get(d, 0), intros.get(d, 0)) for d in days]


def collect(session: Session, *, now: datetime | None = None) -> Statistics:
    """Every statistic the facilitators report, read in one transaction."""
    now = now or utcnow()
    regions = region_coverage(session)
    intro_counts: dict[IntroductionStatus, int] = {}
    for status, count in session.execute(
        # Held while someone is away: not made yet, so not counted.
        select(Introduction.status, func.count(Introduction.id))
        .where(Introduction.held_at.is_(None))
        .group_by(Introduction.status)
    ):
        intro_counts[IntroductionStatus(status)] = int(count)
    open_kind: dict[PostKind, int] = {}
    for kind, count in session.execute(
        select(Post.kind, func.count(Post.id))
        .where(Post.status == PostStatus.OPEN)
        .group_by(Post.kind)
    ):
        open_kind[PostKind(kind)] = int(count)
    total_days = session.scalar(select(func.sum(Outcome.days_saved)))
    return Statistics(
        generated_at=now,
        regions=regions,
        councils_taking_part=sum(r.councils for r in regions),
        members=sum(r.members for r in regions),
        posts_by_area=posts_by_area(session),
        open_wants=open_kind.get(PostKind.WANT, 0),
        open_offers=open_kind.get(PostKind.OFFER, 0),
        introductions_made=sum(intro_counts.values()),
        introductions_confirmed=intro_counts.get(IntroductionStatus.CONFIRMED, 0),
        introductions_declined=intro_counts.get(IntroductionStatus.DECLINED, 0),
        days_saved_total=float(total_days or 0),
        days_saved_by_council=days_saved_by_council(session),
        unmet_areas=unmet_areas(session),
        weekly=weekly_activity(session, now=now),
        outputs=collect_outputs(session, now=now),  # the marketplace's outputs
        follow_ups=follow_up_rates(session),  # follow-ups
        sessions_run=count_sessions(session),
        recent_sessions=session_summaries(session, limit=SESSIONS_SHOWN),
    )


def _days(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def area_label(area: str) -> str:
    """ "Information Management (IM)", or "No area given"."""
    return f"{KNOWLEDGE_AREAS[area]} ({area})" if area in KNOWLEDGE_AREAS else "No area given"


def render(stats: Statistics, *, markdown: bool = True) -> str:
    """The statistics as Slack mrkdwn (``markdown``) or plain text for the command line."""

    def bold(text: str) -> str:
        return f"*{text}*" if markdown else text.upper()

    def name(text: str) -> str:
        return escape(text) if markdown else text

    bullet = "•" if markdown else "-"
    lines = [
        bold("Councils and members by region")
        + f" (target: about {TARGET_PER_REGION} councils a region)"
    ]
    for r in stats.regions:
        mark = (
            ""
            if r.region == UNKNOWN_REGION
            else (" ✓" if r.met else f" ({r.target - r.councils} to go)")
        )
        lines.append(
            f"{bullet} {name(r.region)}: {r.councils} council"
            f"{'s' if r.councils != 1 else ''}, {r.members} member"
            f"{'s' if r.members != 1 else ''}{mark}"
        )
    known = len([r for r in stats.regions if r.region != UNKNOWN_REGION])
    lines.append(
        f"{stats.councils_taking_part} councils and {stats.members} members in all; "
        f"{stats.regions_at_target} of {known} regions at the target."
    )
    lines += ["", bold("Posts by knowledge area") + " (open / fulfilled / expired)"]
    for a in stats.posts_by_area:
        lines.append(f"{bullet} {area_label(a.area)}: {a.open} / {a.fulfilled} / {a.expired}")
    lines.append(f"Open now: {stats.open_wants} wants, {stats.open_offers} offers.")
    lines += [
        "",
        bold("Introductions"),
        f"{stats.introductions_made} made, {stats.introductions_confirmed} confirmed useful, "
        f"{stats.introductions_declined} not a fit.",
    ]
    lines.append("Follow-ups: " + rates_text(stats.follow_ups))  # follow-ups
    lines += ["", bold("Days saved") + f": {_days(stats.days_saved_total)} in all"]
    for council, days in stats.days_saved_by_council[:15]:
        lines.append(f"{bullet} {name(council)}: {_days(days)}")
    if len(stats.days_saved_by_council) > 15:
        lines.append(
            f"{bullet} … and {len(stats.days_saved_by_council) - 15} more councils (see the export)"
        )
    lines += ["", bold("Most wanted areas with no offers")]
    if stats.unmet_areas:
        lines += [
            f"{bullet} {area_label(a)}: {n} open want{'s' if n != 1 else ''}"
            for a, n in stats.unmet_areas
        ]
    else:
        lines.append("None: every area with open wants has at least one open offer.")
    lines += ["", *sessions_lines(stats, markdown=markdown)]
    # The marketplace's outputs
    if stats.outputs is not None:
        lines += ["", render_outputs(stats.outputs, markdown=markdown)]
    return "\n".join(lines)


def session_line(found: SessionSummary, *, markdown: bool = True) -> str:
    """ "14 Jul 2026 10:00–10:15 in #km-marketplace: 3 posts (2 wants, 1 offer) from 3 people,
    1 introduction", as UK clocks show the times."""
    where = channel_ref(found.channel) if markdown else found.channel
    if found.running:
        when = f"{time_text(found.started_at)}, running until {clock_text(found.ends_at)}"
    else:
        when = f"{time_text(found.started_at)}–{clock_text(found.ended_at or found.ends_at)}"
    counts = tally(found.posts, found.wants, found.offers, found.participants)
    return f"{when} in {where}: {counts}, {counted(found.introductions, 'introduction')}"


def sessions_lines(stats: Statistics, *, markdown: bool = True) -> list[str]:
    """The live marketplace sessions: how many, and the most recent ones."""
    title = "Live marketplace sessions"
    lines = [(f"*{title}*" if markdown else title.upper()) + f": {stats.sessions_run} in all"]
    if not stats.recent_sessions:
        command = "`/km-admin session start`" if markdown else "/km-admin session start"
        lines.append(f"None yet: a facilitator starts one with {command}.")
        return lines
    bullet = "•" if markdown else "-"
    lines += [f"{bullet} {session_line(s, markdown=markdown)}" for s in stats.recent_sessions]
    if stats.sessions_run > len(stats.recent_sessions):
        lines.append(f"{bullet} … and {stats.sessions_run - len(stats.recent_sessions)} earlier")
    return lines
