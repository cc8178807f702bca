"""The audit log: every administrative action, who took it, when, and what changed."""

from __future__ import annotations

import logging
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from storage.models import AuditEntry, utcnow

logger = logging.getLogger(__name__)

CLI_ACTOR = "cli"
SETTINGS_ACTOR = "settings"
# What stands in the log for a member who asked to be forgotten.
ERASED_ACTOR = "erased member"


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of ``value`` (datetimes as ISO 8601, enums as their values)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def record(
    session: Session,
    actor: str,
    action: str,
    target: str | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Write one audit entry in the caller's transaction (so it stands or falls with the change)."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor=actor[:64],
        action=action[:60],
        target=target[:120] if target else None,
        before=_plain(before) if before is not None else None,
        after=_plain(after) if after is not None else None,
    )
    session.add(entry)
    session.flush()
    logger.info("audit: %s %s %s", actor, action, target or "")
    return entry


def list_entries(
    session: Session, *, limit: int = 20, actor: str | None = None, action: str | None = None
) -> list[AuditEntry]:
    """The newest entries first, optionally only one actor's or one kind of action (a prefix)."""
    stmt = select(AuditEntry)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
    stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(max(1, limit))
    return list(session.scalars(stmt))


def describe_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """A short "field: old → new" summary of what an entry changed (plain text, not escaped)."""
    before, after = before or {}, after or {}
    parts: list[str] = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = before.get(key), after.get(key)
        if key in before and key in after:
            if old != new:
                parts.append(f"{key}: {_short(old)} → {_short(new)}")
        elif key in after:
            parts.append(f"{key}: {_short(new)}")
        else:
            parts.append(f"{key} was {_short(old)}")
    return "; ".join(parts)


def _short(value: Any, limit: int = 60) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def forget_user(session: Session, user_id: str) -> int:
    """Replace a Slack user id everywhere in the log (who acted, on whom, and in what changed)
    with ``ERASED_ACTOR``; the actions themselves stay for accountability. Returns how many
    entries changed."""
    if not user_id:
        return 0
    entries = session.scalars(
        select(AuditEntry).where(
            or_(
                AuditEntry.actor == user_id,
                AuditEntry.target.contains(user_id, autoescape=True),
                cast(AuditEntry.before, String).contains(user_id, autoescape=True),
                cast(AuditEntry.after, String).contains(user_id, autoescape=True),
            )
        )
    ).all()
    for entry in entries:
        entry.actor = _without(entry.actor, user_id)
        entry.target = _without(entry.target, user_id)
        entry.before = _without(entry.before, user_id)
        entry.after = _without(entry.after, user_id)
    session.flush()
    return len(entries)


def _without(value: Any, user_id: str) -> Any:
    """``value`` (text, or JSON-like) with every mention of ``user_id`` replaced."""
    if isinstance(value, str):
        return value.replace(user_id, ERASED_ACTOR)
    if isinstance(value, dict):
        return {k: _without(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_without(v, user_id) for v in value]
    return value
