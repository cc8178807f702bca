"""Driving shortcuts, App Home menus and edits through the real Bolt app (scenario tests)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slackkit import TEAM_ID, SlackDriver, make_services

from bot.devtools.fakeslack import FakeSlack
from bot.kernel.settings import Settings
from bot.slack import ids

MARKET = "C0MARKET"
COP = "C0COPOL"


@contextmanager
def driver(settings: Settings, fake: FakeSlack, secret: str) -> Iterator[SlackDriver]:
    """A SlackDriver for settings a test chose (e.g. with facilitators)."""
    slack = SlackDriver(settings, make_services(settings), fake, secret)
    try:
        yield slack
    finally:
        slack.close()


def say(slack: SlackDriver, user: str, channel: str, text: str) -> str:
    """A member's own message (as Slack stores it, escaped); returns its ts."""
    if not any(c.id == channel for c in slack.fake.channels()):
        slack.fake.add_channel(channel, "cop-organisational-learning")
    typed = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    answer = slack.fake.workspace.call(
        "chat.postMessage", {"channel": channel, "text": typed}, user
    )
    assert answer["ok"], answer
    return str(answer["ts"])


def message_shortcut(slack: SlackDriver, user: str, callback_id: str, channel: str, ts: str) -> Any:
    """A message shortcut on the message at (channel, ts), as Slack sends it."""
    found = slack.fake.message(channel, ts)
    assert found is not None
    payload = {
        "type": "message_action",
        "callback_id": callback_id,
        "team": {"id": TEAM_ID, "domain": "kmnetwork"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0KMBOT",
        "token": "legacy",
        "channel": {"id": channel, "name": "somewhere"},
        "message": found.to_api(team_id=TEAM_ID, bot_id=slack.fake.workspace.bot_id),
        "message_ts": ts,
        "trigger_id": slack.fake.new_trigger_id(user=user),
        "response_url": slack.fake.new_response_url(user=user, channel=channel, message_ts=ts),
        "action_ts": f"{time.time():.6f}",
    }
    return slack.interaction(payload)


def global_shortcut(slack: SlackDriver, user: str, callback_id: str) -> Any:
    """A global shortcut from Slack's shortcuts menu."""
    payload = {
        "type": "shortcut",
        "callback_id": callback_id,
        "team": {"id": TEAM_ID, "domain": "kmnetwork"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0KMBOT",
        "token": "legacy",
        "trigger_id": slack.fake.new_trigger_id(user=user),
        "action_ts": f"{time.time():.6f}",
    }
    return slack.interaction(payload)


def select(slack: SlackDriver, user: str, action_id: str, value: str) -> Any:
    """Choose ``value`` in one of App Home's menus (the Home as the member sees it now)."""
    view = slack.fake.home_view(user)
    assert view is not None
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0KMBOT",
        "token": "legacy",
        "team": {"id": TEAM_ID, "domain": "kmnetwork"},
        "trigger_id": slack.fake.new_trigger_id(user=user),
        "view": view,
        "container": {"type": "view", "view_id": view["id"]},
        "actions": [
            {
                "type": "static_select",
                "action_id": action_id,
                "block_id": "browse_filters",
                "selected_option": {"text": {"type": "plain_text", "text": value}, "value": value},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return slack.interaction(payload)


def home_buttons(view: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    """Every button with ``action_id`` in a view (in actions blocks or as accessories)."""
    found = []
    for block in view["blocks"]:
        elements = block.get("elements") if block["type"] == "actions" else [block.get("accessory")]
        found += [e for e in elements or [] if e and e.get("action_id") == action_id]
    return found


def post_values(
    text: str,
    *,
    kind: str | None = None,
    area: str | None = None,
    purpose: str | None = None,
    link: str | None = None,
) -> dict[str, dict[str, Any]]:
    """State values of the post (or edit) form."""
    values: dict[str, dict[str, Any]] = {
        ids.BLK_TEXT: {ids.ACT_TEXT: {"type": "plain_text_input", "value": text}},
        ids.BLK_AREA: {
            ids.ACT_AREA: {
                "type": "static_select",
                "selected_option": {"value": area} if area else None,
            }
        },
        ids.BLK_PURPOSE: {
            ids.ACT_PURPOSE: {
                "type": "static_select",
                "selected_option": {"value": purpose} if purpose else None,
            }
        },
        ids.BLK_LINK: {ids.ACT_LINK: {"type": "url_text_input", "value": link}},
    }
    if kind:
        values[ids.BLK_KIND] = {
            ids.ACT_KIND: {"type": "radio_buttons", "selected_option": {"value": kind}}
        }
    return values


def answer(resp: Any) -> dict[str, Any]:
    """The JSON a view submission was answered with ({} for a plain ack)."""
    body = resp.body or ""
    return json.loads(body) if body.strip() else {}
