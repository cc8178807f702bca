"""Communities of practice and the prompt bank as facilitators manage them, every change audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput
from bot.kernel.settings import Settings
from bot.services import audit
from bot.services import communities as cop
from bot.services.nudges import send_nudge_now
from bot.services.views import community_view, prompt_view
from bot.slack.views import CommunityView, PromptView
from storage.models import CommunityOfPractice

# What a facilitator may do to an existing community, by the word they type.
COMMUNITY_ACTIONS = ("pause", "resume", "remove", "nudge")


def community_snapshot(c: CommunityOfPractice) -> dict[str, Any]:
    """What the audit log keeps of a community before and after a change."""
    return {
        "channel_id": c.channel_id,
        "name": c.name,
        "area": c.area,
        "weekday": c.weekday,
        "time_of_day": c.time_of_day,
        "timezone": c.timezone,
        "nation": c.nation,
        "paused": c.paused,
    }


def add_community(
    session: Session,
    *,
    actor: str,
    channel_id: str,
    name: str,
    area: str,
    day: str,
    time: str,
    nation: str,
) -> CommunityView:
    """Register a channel as a community of practice (day and time as typed), audited."""
    community = cop.add_community(
        session,
        channel_id=channel_id,
        name=name,
        area=area,
        weekday=cop.parse_weekday(day),
        time_of_day=cop.parse_time_of_day(time),
        nation=nation,
    )
    audit.record(
        session,
        actor,
        "community.add",
        f"community #{community.id}",
        before=None,
        after=community_snapshot(community),
    )
    return community_view(community)


def change_community(
    session: Session,
    ref: str,
    action: str,
    *,
    actor: str,
    settings: Settings,
    now: datetime,
) -> CommunityView:
    """Pause, resume, remove or nudge now the community ``ref`` names, audited; the community
    as it was left (as it was before, once removed)."""
    if action not in COMMUNITY_ACTIONS:
        raise InvalidInput(f"I can't {action} a community.")
    community = cop.find_community(session, ref)
    before = community_snapshot(community)
    view = community_view(community)
    target = f"community #{community.id}"
    if action in ("pause", "resume"):
        cop.set_paused(session, community, action == "pause", now=now)
        view = community_view(community)
        audit.record(
            session,
            actor,
            f"community.{action}",
            target,
            before=before,
            after=community_snapshot(community),
        )
    elif action == "remove":
        cop.remove_community(session, community)
        audit.record(session, actor, "community.remove", target, before=before, after=None)
    else:
        message = send_nudge_now(session, community, settings=settings, now=now)
        audit.record(
            session, actor, "community.nudge", target, before=None, after={"outbox_id": message.id}
        )
    return view


def add_prompt(
    session: Session, text: str, area: str | None, *, actor: str, created_by_id: int | None
) -> PromptView:
    """Add a facilitator's prompt to the bank, audited."""
    prompt = cop.add_prompt(session, text, area, created_by_id=created_by_id)
    audit.record(
        session,
        actor,
        "prompt.add",
        f"prompt #{prompt.id}",
        before=None,
        after={"area": prompt.area, "text": prompt.text},
    )
    return prompt_view(prompt)


def remove_prompt(session: Session, prompt_id: int, *, actor: str) -> PromptView:
    """Take a prompt out of the rotation, audited."""
    prompt = cop.remove_prompt(session, prompt_id)
    audit.record(
        session,
        actor,
        "prompt.remove",
        f"prompt #{prompt.id}",
        before={"area": prompt.area, "text": prompt.text, "active": True},
        after={"active": prompt.active},
    )
    return prompt_view(prompt)
