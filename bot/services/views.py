"""Stored rows turned into the plain view objects that Block Kit builders read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.services.audit import describe_change
from bot.slack.views import (
    AuditView,
    CommunityView,
    IntroductionView,
    MemberOverview,
    MemberView,
    PostView,
    PromptView,
)
from storage import queries
from storage.models import (
    AuditEntry,
    CommunityOfPractice,
    Introduction,
    Member,
    NudgePrompt,
    Post,
)


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


def is_away(member: Member, now: datetime) -> bool:
    """Whether the member said they are away at ``now`` (``/km away until …``): introductions
    to them, their expiry reminders and follow-ups wait until then."""
    return member.away_until is not None and member.away_until > now


def member_overview(session: Session, member: Member | None, now: datetime) -> MemberOverview:
    """Everything App Home shows a member."""
    if member is None:
        return MemberOverview(None, None, (), (), frozenset())
    posts = queries.posts_of(session, member.id)
    # Held while someone is away: not made yet, so nobody is shown it (or asked to answer it).
    intros = [i for i in queries.introductions_of_member(session, member.id) if i.held_at is None]
    return MemberOverview(
        name=member.name,
        council=member.council.name if member.council else None,
        posts=tuple(post_view(p) for p in posts),
        introductions=tuple(introduction_view(i, session) for i in intros),
        post_ids=frozenset(p.id for p in posts),
        away_until=member.away_until if is_away(member, now) else None,
    )


def member_view(member: Member) -> MemberView:
    """A member as a line of a list."""
    return MemberView(
        slack_user_id=member.slack_user_id,
        name=member.name,
        council=member.council.name if member.council is not None else None,
    )


def community_view(community: CommunityOfPractice) -> CommunityView:
    """A community of practice and its weekly slot."""
    return CommunityView(
        id=community.id,
        channel_id=community.channel_id,
        name=community.name,
        area=community.area,
        weekday=community.weekday,
        time_of_day=community.time_of_day,
        timezone=community.timezone,
        nation=community.nation,
        paused=community.paused,
    )


def prompt_view(prompt: NudgePrompt) -> PromptView:
    """A nudge prompt in the bank."""
    return PromptView(id=prompt.id, area=prompt.area, text=prompt.text, active=prompt.active)


def audit_view(entry: AuditEntry) -> AuditView:
    """An audit entry, its change described in words."""
    return AuditView(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        change=describe_change(entry.before, entry.after),
    )
