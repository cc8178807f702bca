"""Buttons on the worker's expiry reminders: "Still needed" keeps a post open for longer.

A reminder's "Fulfilled" and "Withdraw" are App Home's buttons, and a nudge's "I can help" is
the card's: ``handlers.interactions`` answers those.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.errors import KmbotError, PostLimitReached
from bot.kernel.text import escape
from bot.slack import ids
from bot.slack import posts as post_messages
from bot.slack import reminders as reminder_messages
from handlers.common import actor, button_value, kick, post_id_from, refresh_home

logger = logging.getLogger(__name__)


class ReminderButtons:
    """Listeners for the buttons on expiry reminders."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def still_needed(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """ "Still needed" (or "Still on offer"): keep the post open for another period."""
        ack()
        post_id = post_id_from(button_value(body))
        team_id, user_id = actor(body)
        try:
            view = self.container.closing.keep_open(team_id, user_id, post_id)
        except PostLimitReached as full:
            # The reminder stays: once a post is closed, "Still needed" works again.
            reply = post_messages.cap_reached(full.kind, full.limit, full.open_posts)
            respond(**reply, response_type="ephemeral", replace_original=False)
            return
        except KmbotError as exc:
            respond(text=escape(str(exc)), response_type="ephemeral", replace_original=False)
            return
        kick(self.container)
        # Replace the reminder: its buttons have done their job.
        respond(**reminder_messages.kept_open(view), replace_original=True)
        logger.info("%s kept open until %s by %s", view.label, view.expires_at, user_id)
        refresh_home(self.container, client, user_id, team_id)


def register(app: App, container: Container) -> None:
    """Wire the reminder buttons into the app."""
    app.action(ids.ACT_STILL_NEEDED)(ReminderButtons(container).still_needed)
