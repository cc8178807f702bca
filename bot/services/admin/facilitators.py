"""Facilitators: who may use /km-admin, made from the settings, Slack or the command line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput, NotAllowed, NotFound
from bot.kernel.text import escape, truncate
from bot.kernel.vocabulary import Role
from bot.services import audit
from storage.models import Member

logger = logging.getLogger(__name__)

_USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def member_snapshot(member: Member) -> dict[str, Any]:
    """What the audit log keeps of a member before and after a change of role."""
    return {"slack_user_id": member.slack_user_id, "role": str(member.role)}


def parse_user(text: str) -> str:
    """A Slack user id from ``<@U123|name>``, ``<@U123>`` or ``U123``; InvalidInput otherwise."""
    text = text.strip()
    found = _USER_MENTION.match(text)
    if found:
        return found.group(1)
    if _USER_ID.match(text):
        return text
    if text.startswith("@"):
        # The command's "escape users" setting is off, so Slack passed on the name as typed.
        raise InvalidInput(
            f"Slack sent me “{escape(truncate(text, 40))}” as typed, not who it is. Give their "
            "member ID instead (their profile › ⋯ › Copy member ID; it starts with U)."
        )
    raise InvalidInput(
        f"“{escape(truncate(text, 40)) or 'nothing'}” is not a Slack user. Mention them, "
        "e.g. `@Jo Bloggs`, or give their user id (it starts with U)."
    )


def _members_with_user_id(session: Session, user_id: str) -> list[Member]:
    return list(
        session.scalars(select(Member).where(Member.slack_user_id == user_id).order_by(Member.id))
    )


def facilitator_member(session: Session, team_id: str, user_id: str) -> Member | None:
    """The facilitator acting in Slack, or None if this user is not a facilitator.

    A facilitator bootstrapped from the settings may have been stored before we knew their
    workspace; the first request from them claims that record for the workspace, so joining a
    council later updates the same member rather than making a second one.
    """
    found = [m for m in _members_with_user_id(session, user_id) if m.slack_team_id in (team_id, "")]
    exact = [m for m in found if m.slack_team_id == team_id]
    member = exact[0] if exact else (found[0] if found else None)
    if member is None or member.role != Role.FACILITATOR:
        return None
    if member.slack_team_id != team_id:
        member.slack_team_id = team_id
        session.flush()
    return member


def list_facilitators(session: Session) -> list[Member]:
    """Every facilitator, in the order they were added."""
    return list(
        session.scalars(select(Member).where(Member.role == Role.FACILITATOR).order_by(Member.id))
    )


def add_facilitator(session: Session, user_id: str, *, actor: str, team_id: str = "") -> Member:
    """Make a Slack user a facilitator (made a member with no council if they have not joined)."""
    existing = _members_with_user_id(session, user_id)
    if existing and all(m.role == Role.FACILITATOR for m in existing):
        raise InvalidInput(f"<@{user_id}> is already a facilitator.")
    if not existing:
        member = Member(slack_team_id=team_id, slack_user_id=user_id, role=Role.FACILITATOR)
        session.add(member)
        session.flush()
        audit.record(
            session, actor, "facilitator.add", user_id, before=None, after=member_snapshot(member)
        )
        return member
    for member in existing:
        if member.role != Role.FACILITATOR:
            before = member_snapshot(member)
            member.role = Role.FACILITATOR
            session.flush()
            audit.record(
                session,
                actor,
                "facilitator.add",
                user_id,
                before=before,
                after=member_snapshot(member),
            )
    return existing[0]


def remove_facilitator(
    session: Session, user_id: str, *, actor: str, configured: Iterable[str] = ()
) -> Member:
    """Make a facilitator an ordinary member again; the last facilitator cannot be removed."""
    if user_id in set(configured):
        raise NotAllowed(
            f"<@{user_id}> is listed in KMBOT_FACILITATORS, so they would be made a facilitator "
            "again at the next start. Take them out of that setting first."
        )
    members = [m for m in _members_with_user_id(session, user_id) if m.role == Role.FACILITATOR]
    if not members:
        raise NotFound(f"<@{user_id}> is not a facilitator.")
    others = session.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.role == Role.FACILITATOR, Member.slack_user_id != user_id)
    )
    if not others:
        raise NotAllowed(
            "That is the last facilitator: the marketplace needs at least one. "
            "Add another facilitator first."
        )
    for member in members:
        before = member_snapshot(member)
        member.role = Role.PRACTITIONER
        session.flush()
        audit.record(
            session,
            actor,
            "facilitator.remove",
            user_id,
            before=before,
            after=member_snapshot(member),
        )
    return members[0]


def bootstrap_facilitators(
    session: Session, user_ids: Iterable[str], *, team_id: str = ""
) -> list[str]:
    """Make every configured user id a facilitator; returns those that were not one already."""
    made: list[str] = []
    for user_id in dict.fromkeys(u.strip() for u in user_ids if u.strip()):
        if not _USER_ID.match(user_id):
            logger.warning("KMBOT_FACILITATORS: %r is not a Slack user id; ignored", user_id)
            continue
        existing = _members_with_user_id(session, user_id)
        if existing and all(m.role == Role.FACILITATOR for m in existing):
            continue
        add_facilitator(session, user_id, actor=audit.SETTINGS_ACTOR, team_id=team_id)
        made.append(user_id)
    return made


def record_refusal(session: Session, user_id: str, command: str) -> None:
    """Log and audit someone who is not a facilitator trying an admin command.

    ``command`` is the command's name (``/km-admin stats``), never the text typed after it: the
    audit log keeps who tried what, not what they wrote (docs/PRIVACY.md)."""
    logger.warning("Refused %s from %s: not a facilitator", command, user_id)
    audit.record(session, user_id, "refused", truncate(command, 120) or "/km-admin")


def is_user_id(text: str) -> bool:
    """Whether ``text`` is a Slack user id (U… or W…)."""
    return bool(_USER_ID.match(text))
