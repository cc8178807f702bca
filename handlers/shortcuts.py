"""Shortcuts: post a message as a want or offer, post from anywhere, report a card.

A post form opened from a shortcut is the ordinary post modal (``handlers.posting`` stores
and publishes it); the report modal is answered here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.errors import InvalidInput, KmbotError
from bot.kernel.text import escape, unescape
from bot.slack import ids, modals
from handlers.common import actor, input_value, kick, post_id_from, reply

logger = logging.getLogger(__name__)

NOT_A_CARD = (
    "Only kmbot's cards of wants and offers can be reported to the facilitators. To raise "
    "anything else, message a facilitator directly."
)


class Shortcuts:
    """Listeners for the three shortcuts and the report modal."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.flags = container.flags

    def post_from_message(self, ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """ "Post as a want / offer" on a message: the post form, filled with its text."""
        ack()
        message = shortcut.get("message") or {}
        # Slack sends a message's text with &, < and > escaped: show what was typed.
        text = unescape(str(message.get("text") or "")).strip()
        client.views_open(
            trigger_id=shortcut["trigger_id"], view=modals.post_modal(None, text=text)
        )

    def post_global(self, ack: Ack, shortcut: dict[str, Any], client: WebClient) -> None:
        """ "Post a want or offer" from the shortcuts menu: the empty post form."""
        ack()
        client.views_open(trigger_id=shortcut["trigger_id"], view=modals.post_modal(None))

    def report(
        self, ack: Ack, shortcut: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        """ "Report to facilitators" on a message: the note modal, for a kmbot card only."""
        ack()
        channel = str((shortcut.get("channel") or {}).get("id") or "")
        ts = str((shortcut.get("message") or {}).get("ts") or shortcut.get("message_ts") or "")
        post = self.flags.card(channel, ts)
        if post is None:
            respond(text=escape(NOT_A_CARD), response_type="ephemeral", replace_original=False)
            return
        client.views_open(trigger_id=shortcut["trigger_id"], view=modals.report_modal(post))

    def report_submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The report modal: send the note to the facilitators' review list."""
        note = input_value(view, ids.BLK_REPORT_NOTE, ids.ACT_REPORT_NOTE) or ""
        try:
            self.flags.check_note(note)
        except InvalidInput as exc:
            ack(response_action="errors", errors={ids.BLK_REPORT_NOTE: str(exc)})
            return
        ack()
        _team_id, user_id = actor(body)
        post_id = post_id_from(view.get("private_metadata") or "")
        if post_id is None:
            return
        try:
            self.flags.report(user_id, post_id, note)
        except KmbotError as exc:
            reply(self.container, None, user_id, str(exc))
            return
        kick(self.container)


def register(app: App, container: Container) -> None:
    """Wire the shortcuts and the report modal into the app."""
    it = Shortcuts(container)
    app.shortcut(ids.SC_POST_FROM_MESSAGE)(it.post_from_message)
    app.shortcut(ids.SC_POST_GLOBAL)(it.post_global)
    app.shortcut(ids.SC_REPORT)(it.report)
    app.view(ids.VIEW_REPORT)(it.report_submitted)
