"""/km my-data and /km forget-me: a member's copy of their data, and erasure."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.services.privacy import forget_member, member_data_json
from bot.slack import blocks
from handlers.common import actor, kick
from storage import queries

logger = logging.getLogger(__name__)

CONFIRM_WORD = "confirm"


class PrivacyCommands:
    """The personal-data subcommands of /km."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def my_data(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km my-data: send the member a file of everything stored about them."""
        team_id, user_id = actor(command)
        with self.services.session_factory() as session:
            member = queries.member_by_slack_id(session, team_id, user_id)
            content = member_data_json(session, member) if member is not None else None
        if content is None:
            respond(
                blocks.notice("kmbot holds nothing about you: you haven't joined or posted."),
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
                blocks.notice(
                    "Slack didn't take the file just now, so nothing was sent. "
                    "Please try `/km my-data` again in a minute."
                ),
                response_type="ephemeral",
            )
            return
        respond(
            blocks.notice(
                "I've sent you a direct message with a file of everything kmbot stores about you."
            ),
            response_type="ephemeral",
        )

    def forget_me(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km forget-me [confirm]: erase the member's personal data and withdraw their posts."""
        team_id, user_id = actor(command)
        with self.services.session_factory() as session:
            member = queries.member_by_slack_id(session, team_id, user_id)
            open_posts = len(queries.open_posts_of(session, member.id)) if member else 0
        if member is None:
            respond(
                blocks.notice("kmbot holds nothing about you, so there is nothing to erase."),
                response_type="ephemeral",
            )
            return
        if rest.strip().lower() != CONFIRM_WORD:
            respond(
                blocks.notice(
                    "This erases your name, email, Slack id and the text of all your posts, and "
                    f"withdraws your {open_posts} open post{'s' if open_posts != 1 else ''}. "
                    "The network keeps only anonymous counts (e.g. a want from your council). "
                    "It cannot be undone.\nTo go ahead, type `/km forget-me confirm`."
                ),
                response_type="ephemeral",
            )
            return
        with self.services.session_factory.begin() as session:
            member = queries.member_by_slack_id(session, team_id, user_id, lock=True)
            if member is None:  # erased a moment ago from another device
                done = None
            else:
                done = forget_member(session, member, now=self.services.clock())
                post_ids = list(done.withdrawn_ids)
        if done is None:
            respond(
                blocks.notice("Done: kmbot no longer holds anything about you."),
                response_type="ephemeral",
            )
            return
        for post_id in post_ids:
            self.services.matcher.remove(post_id)
        kick(self.services)
        respond(
            blocks.notice(
                f"Done: your personal data is erased and {done.posts_withdrawn} open "
                f"post{'s' if done.posts_withdrawn != 1 else ''} withdrawn. The cards in the "
                "marketplace channel are being updated to match."
            ),
            response_type="ephemeral",
        )


def register(app: App, services: Services) -> None:
    """Add my-data and forget-me to /km."""
    commands = PrivacyCommands(services)
    km = services.extras["km"]
    km.subcommands["my-data"] = commands.my_data
    km.subcommands["forget-me"] = commands.forget_me
