"""Away and back: `/km away until DATE`, `/km back`, and App Home's "Away until…" / "I'm back"."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.errors import KmbotError
from bot.services.away import says_back
from bot.slack import away as away_messages
from bot.slack import ids
from bot.slack.kit import notice
from handlers.common import actor, input_value, kick, refresh_home, reply

logger = logging.getLogger(__name__)


class Away:
    """The away subcommands of /km, and App Home's away buttons and modal."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.away = container.away

    # ------------------------------------------------------------ /km away, /km back
    def away_command(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km away until <date>; /km away alone says whether you are away."""
        team_id, user_id = actor(command)
        if says_back(rest):  # `/km away off`: back early
            self.back_command("", command, respond, client)
            return
        if not rest.strip():
            until = self.away.away_until(team_id, user_id)
            respond(notice(away_messages.away_status(until)), response_type="ephemeral")
            return
        until = self.away.go_away(team_id, user_id, rest)  # KmbotError: /km says why
        respond(notice(away_messages.away_set(until)), response_type="ephemeral")
        refresh_home(self.container, client, user_id, team_id)

    def back_command(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km back (or /km away off): the held introductions are made now."""
        team_id, user_id = actor(command)
        release = self.away.come_back(team_id, user_id)
        kick(self.container)
        made, dropped = (release.made, release.dropped) if release else (None, 0)
        respond(notice(away_messages.back(made, dropped)), response_type="ephemeral")
        refresh_home(self.container, client, user_id, team_id)

    # ------------------------------------------------------------ App Home
    def open_modal(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """ "Away until…": ask for the date in a modal (the trigger lives three seconds)."""
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=away_messages.away_modal())

    def modal_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """The away modal: a date that will not do is shown beside the field; nothing changes."""
        team_id, user_id = actor(body)
        text = input_value(view, ids.BLK_AWAY_DATE, ids.ACT_AWAY_DATE) or ""
        try:
            self.away.check_return(text)  # the date is checked before the ack, nothing written
        except KmbotError as exc:
            ack(response_action="errors", errors={ids.BLK_AWAY_DATE: str(exc)})
            return
        ack()
        try:
            self.away.go_away(team_id, user_id, text)
        except KmbotError as exc:  # not a member (yet): told by direct message
            reply(self.container, None, user_id, str(exc))
            return
        refresh_home(self.container, client, user_id, team_id)

    def back_button(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """ "I'm back" on App Home."""
        ack()
        team_id, user_id = actor(body)
        release = self.away.come_back(team_id, user_id)
        kick(self.container)
        logger.info("%s is back from App Home: %s", user_id, release)
        made, dropped = (release.made, release.dropped) if release else (None, 0)
        # What happened to the held introductions, at the top of the Home tab.
        refresh_home(
            self.container, client, user_id, team_id, note=away_messages.back(made, dropped)
        )


def register(app: App, container: Container) -> dict[str, Any]:
    """Wire App Home's away buttons and the away modal into the app; returns the /km
    subcommands (``away``, ``back``) for ``handlers.register_all`` to pass to /km."""
    away = Away(container)
    app.action(ids.ACT_AWAY_OPEN)(away.open_modal)
    app.action(ids.ACT_BACK)(away.back_button)
    app.view(ids.VIEW_AWAY)(away.modal_submitted)
    return {"away": away.away_command, "back": away.back_command}
