"""Follow-ups on introductions: "We're still talking" (the other two buttons are the
introduction's own, answered by ``handlers.interactions``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.container import Container
from bot.kernel.errors import KmbotError
from bot.slack import followups as follow_up_messages
from bot.slack import ids
from handlers.common import OUT_OF_DATE, actor, button_value, kick, post_id_from, reply

logger = logging.getLogger(__name__)


class FollowUps:
    """The "We're still talking" button on a follow-up DM."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.follow_ups = container.follow_ups

    def still_talking(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        """Snooze: ask again in a week, nothing else."""
        ack()
        intro_id = post_id_from(button_value(body))
        team_id, user_id = actor(body)
        if intro_id is None:
            reply(self.container, respond, user_id, OUT_OF_DATE)
            return
        try:
            again = self.follow_ups.still_talking(team_id, user_id, intro_id)
        except KmbotError as exc:
            reply(self.container, respond, user_id, str(exc))
            return
        kick(self.container)
        # Only the presser sees it; the follow-up DM itself is changed through the outbox.
        reply(self.container, respond, user_id, follow_up_messages.still_talking(again))
        logger.info("Introduction %s: still talking, says %s", intro_id, user_id)


def register(app: App, container: Container) -> None:
    """Wire the follow-up DM's own button into the app."""
    app.action(ids.ACT_INTRO_STILL_TALKING)(FollowUps(container).still_talking)
