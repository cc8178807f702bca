"""The welcome DM: once ever, to each person who joins the marketplace channel."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.outbox import enqueue as outbox
from bot.services.context import ServiceContext, member_of
from bot.slack import welcome as welcome_messages
from storage.models import OutboxMessage

logger = logging.getLogger(__name__)


def welcome_key(team_id: str, user_id: str) -> str:
    """The welcome DM's outbox key: it remembers that someone was welcomed, joined or not."""
    return f"welcome:{team_id}:{user_id}"


class WelcomeService:
    """Welcoming newcomers to the marketplace channel."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def welcome(self, team_id: str, user_id: str) -> bool:
        """Owe the person a welcome DM unless they have had one; whether one was owed.

        The welcome's own outbox row, keyed by their Slack id and never purged, remembers it,
        for members and for people who have not joined yet alike (who get no member row:
        joining later must still find their workshop posts by email).
        """
        key = welcome_key(team_id, user_id)
        try:
            with self.context.session_factory.begin() as session:
                if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
                    return False
                member = member_of(session, team_id, user_id)
                outbox.enqueue(
                    session,
                    kind="welcome",
                    channel=user_id,
                    payload=welcome_messages.welcome(
                        self.context.settings.max_open_posts,
                        joined=member is not None and member.council_id is not None,
                    ),
                    dedupe_key=key,
                    new_cause=True,
                )
        except IntegrityError:  # the same join reported twice at once: the other one welcomed
            return False
        logger.info("Welcome owed to %s", user_id)
        return True
