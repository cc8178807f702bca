"""What every listener needs: who is acting, what was clicked, and replying without losing anything.

Shared by every handler module (the only module they share).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.slack.home import home

logger = logging.getLogger(__name__)

HELP_WORDS = {"help", "?", "-h", "--help"}


def actor(body: dict[str, Any]) -> tuple[str, str]:
    """(team id, user id) of whoever sent a command, clicked a button or submitted a view."""
    user = body.get("user")
    if isinstance(user, dict):
        user_id = user.get("id", "")
        team_id = user.get("team_id") or (body.get("team") or {}).get("id", "")
    else:
        user_id = body.get("user_id", "")
        team_id = body.get("team_id", "")
    return str(team_id or ""), str(user_id or "")


def button_value(body: dict[str, Any]) -> str:
    """The value of the button that was clicked."""
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or actions[0].get("selected_option", {}).get("value") or "")


def post_id_from(value: str) -> int | None:
    """A post or introduction number from a button value or typed text ("#12", "12")."""
    value = value.strip().lstrip("#")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def input_value(view: dict[str, Any], block_id: str, action_id: str) -> str | None:
    """What was typed (or chosen) in one input of a submitted modal."""
    element = (view.get("state") or {}).get("values", {}).get(block_id, {}).get(action_id, {})
    selected = element.get("selected_option")
    if selected is not None:
        return str(selected.get("value")) if selected.get("value") is not None else None
    value = element.get("value")
    return str(value) if value is not None else None


def profile(client: WebClient, user_id: str) -> tuple[str | None, str | None]:
    """(real name, email) from the member's Slack profile, or Nones if Slack will not say."""
    try:
        resp = client.users_info(user=user_id)
    except SlackApiError as exc:
        logger.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        return None, None
    user = resp.get("user") or {}
    prof = user.get("profile") or {}
    name = prof.get("real_name") or user.get("real_name") or user.get("name")
    return name, prof.get("email")


def refresh_home(container: Container, client: WebClient, user_id: str, team_id: str) -> None:
    """Publish a member's App Home again after something of theirs changed (best effort)."""
    try:
        view = home(container.browsing.overview(team_id, user_id))
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        logger.warning("Could not refresh App Home for %s: %s", user_id, exc.response.get("error"))
    except OSError as exc:  # timeouts and dropped connections: Home is refreshed next time
        logger.warning("Could not refresh App Home for %s: %s", user_id, exc)


def kick(container: Container) -> None:
    """Deliver what the last transaction owed Slack, now rather than at the next sweep."""
    container.deliverer.kick()


def process_soon(container: Container) -> None:
    """Wake whatever does the stored requests' work: the posting thread of this process, or the
    pool tests and the sandbox use; a separate posting process finds the work on its own."""
    if container.intake.running:
        container.intake.kick()
    elif container.work_pool is not None:
        container.work_pool.submit(container.intake.process_due)
