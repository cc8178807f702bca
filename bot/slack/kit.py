"""Block Kit helpers every builder uses, so every message looks and truncates alike."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.kernel.clock import UK_TIMEZONE, uk_time
from bot.kernel.text import escape, is_channel_id, truncate
from bot.kernel.vocabulary import KNOWLEDGE_AREAS

Block = dict[str, Any]

# Slack's limits, kept with a little room.
SECTION_LIMIT = 2900
FIELD_LIMIT = 1900
BUTTON_LIMIT = 75
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000


def date_text(when: datetime | None, timezone: str = UK_TIMEZONE) -> str:
    """A British date such as "25 Feb 2027", the day it is in the UK at ``when``.

    Stored times are UTC: a post that closes at 23:30 UTC in summer closes at 00:30 BST, so
    people are told the next day.
    """
    return f"{uk_time(when, timezone):%-d %b %Y}" if when else ""


def time_text(when: datetime | None, timezone: str = UK_TIMEZONE) -> str:
    """A British date and time such as "25 Feb 2027 14:05", as a clock in the UK shows it."""
    return f"{uk_time(when, timezone):%-d %b %Y %H:%M}" if when else ""


def clock_text(when: datetime | None) -> str:
    """A time of day as UK clocks show it ("14:05")."""
    return f"{uk_time(when):%H:%M}" if when else ""


def channel_ref(channel: str) -> str:
    """A channel as Slack links it: ``<#C0123>`` for an id, ``#name`` for a name."""
    if is_channel_id(channel):
        return f"<#{channel}>"
    return f"#{escape(channel.lstrip('#'))}"


def counted(n: int, word: str) -> str:
    """ "1 post", "3 posts"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def people(n: int) -> str:
    """ "1 person", "3 people"."""
    return "1 person" if n == 1 else f"{n} people"


def quote(text: str, limit: int = FIELD_LIMIT - 100) -> str:
    """User text escaped, shortened and shown as a Slack quote."""
    safe = truncate(escape(text), limit)
    return "\n".join("> " + line for line in safe.split("\n"))


def section(text: str) -> Block:
    """A section of mrkdwn we wrote (user text in it already escaped)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_LIMIT)}}


def context(*texts: str) -> Block:
    """A context block of up to ten mrkdwn elements; empty texts are left out."""
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(t, 2900)} for t in texts if t][:10],
    }


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    """A button carrying ``value`` to the listener of ``action_id``."""
    btn: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, BUTTON_LIMIT), "emoji": False},
        "action_id": action_id,
        "value": value,
    }
    if style:
        btn["style"] = style
    return btn


def plain_text(text: str, limit: int = 150) -> Block:
    """A plain_text object, shortened to ``limit``."""
    return {"type": "plain_text", "text": truncate(text, limit), "emoji": False}


def area_name(code: str | None) -> str:
    """The knowledge area's full name."""
    return KNOWLEDGE_AREAS.get(code or "", "")


def option(text: str, value: str) -> Block:
    """An option of a select."""
    return {"text": plain_text(text, 75), "value": value}


def static_select(
    action_id: str, placeholder: str, options: dict[str, str], initial: str | None = None
) -> Block:
    element: Block = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain_text(placeholder),
        "options": [option(label, value) for value, label in options.items()],
    }
    if initial in options:
        element["initial_option"] = option(options[initial], initial)  # type: ignore[index]
    return element


def notice(text: str) -> dict[str, Any]:
    """A short message with a single section (the text is mrkdwn we wrote, already escaped)."""
    return {"text": truncate(text, FALLBACK_LIMIT), "blocks": [section(text)]}
