"""/km-admin: the facilitators' tools. Everyone else is politely refused, and the attempt logged.

One module per group of subcommands (``people``, ``communities``, ``reports``); this one
dispatches the words to them.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.kernel.errors import KmbotError
from bot.kernel.text import escape, truncate
from bot.slack import admin as admin_messages
from bot.slack import ids
from handlers.admin import communities, people, reports, sessions, why
from handlers.admin.request import Request, Subcommand, split
from handlers.common import HELP_WORDS, actor

logger = logging.getLogger(__name__)

# Each word a facilitator may type: the help topic it belongs to, and what answers it.
SUBCOMMANDS: dict[str, tuple[str, Subcommand]] = {
    "facilitators": ("facilitators", people.facilitators),
    "facilitator": ("facilitators", people.facilitators),
    "councils": ("councils", people.councils),
    "council": ("councils", people.councils),
    "remove": ("moderation", people.remove),
    "restore": ("moderation", people.restore),
    "moderation": ("moderation", people.moderation),
    "introduce": ("introduce", people.introduce),
    "communities": ("communities", communities.communities),
    "community": ("communities", communities.communities),
    "cop": ("communities", communities.communities),
    "prompts": ("prompts", communities.prompts),
    "stats": ("stats", reports.stats),
    "statistics": ("stats", reports.stats),
    "export": ("export", reports.export),
    "report": ("report", reports.report),
    "audit": ("audit", reports.audit),
    "reports": ("audit", reports.reported),
    "reported": ("audit", reports.reported),
    "why": ("why", why.why),
    # Live marketplace sessions and the marketplace's outputs
    "session": ("session", sessions.session),
    "sessions": ("session", sessions.session),
    "outputs": ("outputs", reports.outputs),
    "output": ("outputs", reports.outputs),
}


class AdminCommand:
    """The /km-admin command."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def handle(
        self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """Dispatch /km-admin <subcommand> [arguments], for facilitators only."""
        ack()
        text = (command.get("text") or "").strip()
        team_id, user_id = actor(command)
        word, rest = split(text)
        # A refusal is audited by the command's name only, never by what was typed after it.
        tried = f"/km-admin {word}" if word in SUBCOMMANDS else "/km-admin"
        who = self.container.admin.facilitator(team_id, user_id, tried)
        if who.member_id is None:
            respond(
                admin_messages.long_notice(admin_messages.refusal(who.facilitator_ids)),
                response_type="ephemeral",
            )
            return
        request = Request(self.container, team_id, user_id, who.member_id, respond, client)
        if word in HELP_WORDS or not word:
            asked = SUBCOMMANDS.get(split(rest)[0])
            request.say(admin_messages.HELP[asked[0]] if asked else admin_messages.overview_help())
            return
        found = SUBCOMMANDS.get(word)
        if found is None:
            request.say(
                f"I don't know `/km-admin {escape(truncate(word, 40))}`.\n"
                + admin_messages.overview_help()
            )
            return
        topic, sub = found
        if rest.lower() in HELP_WORDS:
            request.say(admin_messages.HELP[topic])
            return
        try:
            sub(request, rest)
        except KmbotError as exc:
            # Our services word their messages for Slack, escaping what people typed.
            request.say(str(exc))
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "unknown"
            logger.warning("Slack refused part of /km-admin %s: %s", word, error)
            request.say(
                f"Slack would not take that just now ({escape(str(error))}). "
                "Please try again in a minute."
            )


def register(app: App, container: Container) -> None:
    """Wire /km-admin into the app, and make the configured users facilitators."""
    made = container.admin.bootstrap()
    if made:
        logger.info("Made facilitators from KMBOT_FACILITATORS: %s", ", ".join(made))
    app.command(ids.CMD_ADMIN)(AdminCommand(container).handle)
