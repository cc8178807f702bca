"""The welcome DM when someone joins the marketplace channel (``member_joined_channel``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.kernel.text import is_channel_id
from handlers.common import kick

logger = logging.getLogger(__name__)


class Welcome:
    """The member_joined_channel listener."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.welcomes = container.welcomes
        # Channel id -> whether it is the marketplace (when the setting is a name): asked of
        # Slack once per channel, not on every join.
        self._is_market: dict[str, bool] = {}

    def joined(self, event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        """Welcome a person (never a bot) to the marketplace channel, once ever."""
        user_id = str(event.get("user") or "")
        channel = str(event.get("channel") or "")
        team_id = str(event.get("team") or body.get("team_id") or "")
        if not user_id or not self._is_marketplace(client, channel):
            return
        if self._is_bot(client, user_id):
            return
        if self.welcomes.welcome(team_id, user_id):
            kick(self.container)

    def _is_marketplace(self, client: WebClient, channel: str) -> bool:
        # The setting is a channel id (C0123ABCD) or a name: a name needs Slack to say which.
        wanted = self.container.settings.marketplace_channel
        if channel == wanted:
            return True
        if not channel or is_channel_id(wanted):
            return False
        if channel not in self._is_market:
            try:
                info = client.conversations_info(channel=channel)
            except SlackApiError as exc:
                logger.warning(
                    "conversations.info failed for %s: %s", channel, exc.response.get("error")
                )
                return False  # not remembered: asked again next time
            name = (info.get("channel") or {}).get("name")
            self._is_market[channel] = name == wanted.lstrip("#")
        return self._is_market[channel]

    @staticmethod
    def _is_bot(client: WebClient, user_id: str) -> bool:
        if user_id == "USLACKBOT":
            return True
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            logger.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return False
        return bool(user.get("is_bot"))


def register(app: App, container: Container) -> None:
    """Wire the welcome into the app."""
    app.event("member_joined_channel")(Welcome(container).joined)
