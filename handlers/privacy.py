"""/km my-data and /km forget-me: a member's copy of their data, and erasure."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.slack.kit import notice
from handlers.common import actor, kick

logger = logging.getLogger(__name__)

Subcommand = Callable[[str, dict[str, Any], Respond, WebClient], None]

CONFIRM_WORD = "confirm"


class PrivacyCommands:
    """The personal-data subcommands of /km."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def my_data(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km my-data: send the member a file of everything stored about them."""
        team_id, user_id = actor(command)
        content = self.container.privacy.my_data(team_id, user_id)
        if content is None:
            respond(
                notice("kmbot holds nothing about you: you haven't joined or posted."),
                response_type="ephemeral",
            )
            return
        try:
            dm = client.conversations_open(users=user_id)["channel"]["id"]
            client.files_upload_v2(
                channel=dm,
                content=content,
                filename="kmbot-my-data.json",
                title="Everything kmbot stores about you",
                initial_comment="Here is everything the marketplace bot stores about you. "
                "`/km forget-me` erases it.",
            )
        except (SlackApiError, OSError) as exc:
            # OSError covers a timeout or a dropped connection: the member can simply ask again.
            logger.warning("Could not send my-data to %s: %s", user_id, exc)
            respond(
                notice(
                    "Slack didn't take the file just now, so nothing was sent. "
                    "Please try `/km my-data` again in a minute."
                ),
                response_type="ephemeral",
            )
            return
        respond(
            notice(
                "I've sent you a direct message with a file of everything kmbot stores about you."
            ),
            response_type="ephemeral",
        )

    def forget_me(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km forget-me [confirm]: erase the member's personal data and withdraw their posts."""
        team_id, user_id = actor(command)
        open_posts = self.container.privacy.open_posts(team_id, user_id)
        if open_posts is None:
            respond(
                notice("kmbot holds nothing about you, so there is nothing to erase."),
                response_type="ephemeral",
            )
            return
        if rest.strip().lower() != CONFIRM_WORD:
            respond(
                notice(
                    "This erases your name, email, Slack id and the text of all your posts, and "
                    f"withdraws your {open_posts} open post{'s' if open_posts != 1 else ''}. "
                    "The network keeps only anonymous counts (e.g. a want from your council). "
                    "It cannot be undone.\nTo go ahead, type `/km forget-me confirm`."
                ),
                response_type="ephemeral",
            )
            return
        done = self.container.privacy.forget(team_id, user_id)
        if done is None:  # erased a moment ago from another device
            respond(
                notice("Done: kmbot no longer holds anything about you."),
                response_type="ephemeral",
            )
            return
        kick(self.container)
        respond(
            notice(
                f"Done: your personal data is erased and {done.posts_withdrawn} open "
                f"post{'s' if done.posts_withdrawn != 1 else ''} withdrawn. The cards in the "
                "marketplace channel are being updated to match."
            ),
            response_type="ephemeral",
        )


def subcommands(container: Container) -> dict[str, Subcommand]:
    """The /km subcommands this module owns."""
    commands = PrivacyCommands(container)
    return {"my-data": commands.my_data, "forget-me": commands.forget_me}
