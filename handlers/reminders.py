"""Buttons on the worker's messages: "Still needed" on expiry reminders, "I can help" on nudges.

"Fulfilled" and "Withdraw" on a reminder carry the same action ids as App Home's buttons, so
``handlers.interactions`` answers them (closing through ``bot.services.marketplace.close_post``).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Services
from bot.kernel.errors import KmbotError, NotFound
from bot.kernel.text import escape
from bot.services.marketplace import post_view
from bot.services.reminders import keep_open
from bot.slack import ids
from bot.slack import worker_messages as nudge_blocks
from handlers.common import actor, button_value, kick, post_id_from, refresh_home
from handlers.interactions import Interactions
from storage import queries

logger = logging.getLogger(__name__)


class NudgeButtons:
    """Listeners for the buttons on reminders and nudges."""

    def __init__(self, services: Services) -> None:
        self.services = services
        # The nudge's "I can help" is the card's "I can help": same service, same replies.
        self.interactions = Interactions(services)

    def still_needed(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """ "Still needed" (or "Still on offer"): keep the post open for another period."""
        ack()
        post_id = post_id_from(button_value(body))
        team_id, user_id = actor(body)
        services = self.services
        try:
            with services.session_factory.begin() as session:
                member = queries.member_by_slack_id(session, team_id, user_id)
                if member is None or post_id is None:
                    raise NotFound("That isn't one of your posts.")
                post = keep_open(
                    session, member, post_id, settings=services.settings, now=services.clock()
                )
                view = post_view(post)
        except KmbotError as exc:
            respond(text=escape(str(exc)), response_type="ephemeral", replace_original=False)
            return
        services.matcher.add(post)  # back in this process's index if it had expired
        kick(services)
        # Replace the reminder: its buttons have done their job.
        respond(**nudge_blocks.kept_open(view), replace_original=True)
        logger.info("%s kept open until %s by %s", view.label, view.expires_at, user_id)
        refresh_home(services, client, user_id, team_id)


def register(app: App, services: Services) -> None:
    """Wire the reminder and nudge buttons into the app."""
    buttons = NudgeButtons(services)
    app.action(ids.ACT_STILL_NEEDED)(buttons.still_needed)
    app.action(ids.ACT_NUDGE_HELP)(buttons.interactions.can_help)
