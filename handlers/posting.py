"""/want and /offer, the post modal, and joining (choosing one's council)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.kernel.errors import InvalidInput, KmbotError, PostLimitReached
from bot.kernel.text import escape
from bot.kernel.vocabulary import PostKind
from bot.services.posting import Draft
from bot.slack import ids, members, modals
from bot.slack import posts as post_messages
from bot.slack.kit import notice
from handlers.common import (
    HELP_WORDS,
    actor,
    input_value,
    kick,
    later,
    profile,
    refresh_home,
)

logger = logging.getLogger(__name__)

# Which block of the post modal shows a problem with each field.
_FIELD_BLOCKS = {
    "text": ids.BLK_TEXT,
    "link": ids.BLK_LINK,
    "area": ids.BLK_AREA,
    "purpose": ids.BLK_PURPOSE,
}
JOIN_FIRST = (
    "First, which council do you work for? Type `/km join <your council>` and "
    "I'll publish your post straight after."
)


class Posting:
    """Listeners for posting; bound methods so Bolt sees their argument names."""

    def __init__(self, container: Container) -> None:
        self.container = container

    # ------------------------------------------------------------ slash commands
    def want_command(
        self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/want [text]"""
        ack()
        self._command(PostKind.WANT, command, respond, client)

    def offer_command(
        self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/offer [text]"""
        ack()
        self._command(PostKind.OFFER, command, respond, client)

    def _command(
        self, kind: PostKind, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() in HELP_WORDS:
            respond(post_messages.help_text(self.container.settings.max_open_posts))
            return
        if not text:
            # trigger_id lives three seconds: open the modal before anything else.
            client.views_open(trigger_id=command["trigger_id"], view=modals.post_modal(str(kind)))
            return
        # Storing, matching and introducing happen off Bolt's listener threads, so the next
        # member's ack never waits behind this member's post.
        later(self.container, respond, self._publish_command, kind, text, command, respond, client)

    def _publish_command(
        self,
        kind: PostKind,
        text: str,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
    ) -> None:
        team_id, user_id = actor(command)
        try:
            new = self.container.posting.draft(kind, text)
        except KmbotError as exc:
            self._tell(respond, user_id, str(exc))
            return
        if not self._joined(team_id, user_id, client):
            pending_id = self.container.posting.keep_until_joined(team_id, user_id, new)
            self._ask_council(client, command.get("trigger_id"), respond, user_id, pending_id)
            return
        self._publish(new, team_id, user_id, respond, client)

    # ------------------------------------------------------------ publishing
    def _publish(
        self,
        new: Draft,
        team_id: str,
        user_id: str,
        respond: Respond | None,
        client: WebClient,
        help_for: int | None = None,
    ) -> None:
        """Publish a joined member's post and tell them: on the response URL, or by DM."""
        container = self.container
        try:
            published = container.posting.publish(
                team_id, user_id, new, help_for=help_for, confirm_by_dm=respond is None
            )
        except PostLimitReached as exc:
            self._send(
                respond, user_id, post_messages.cap_reached(exc.kind, exc.limit, exc.open_posts)
            )
            return
        except KmbotError as exc:
            self._tell(respond, user_id, str(exc))
            return
        kick(container)
        if respond is not None:
            reply = post_messages.post_confirmation(
                published, container.settings.marketplace_channel
            )
            respond(**reply, response_type="ephemeral")
        refresh_home(container, client, user_id, team_id)

    def _publish_kept(
        self,
        kept: list[Draft],
        team_id: str,
        user_id: str,
        respond: Respond | None,
        client: WebClient,
    ) -> None:
        """Publish the posts a member made before they joined, now that they have."""
        for new in kept:
            self._publish(new, team_id, user_id, respond, client)

    # ------------------------------------------------------------ joining
    def _joined(self, team_id: str, user_id: str, client: WebClient) -> bool:
        """Whether the member has joined, joining them from their email domain if it says."""
        if self.container.posting.has_joined(team_id, user_id):
            return True
        name, email = profile(client, user_id)
        joined = self.container.membership.join_from_email(team_id, user_id, name=name, email=email)
        return joined is not None

    def _ask_council(
        self,
        client: WebClient,
        trigger_id: str | None,
        respond: Respond | None,
        user_id: str,
        pending_id: int,
    ) -> None:
        if trigger_id:
            try:
                client.views_open(
                    trigger_id=trigger_id,
                    view=modals.join_modal(private_metadata=f"pending:{pending_id}"),
                )
                return
            except SlackApiError as exc:
                logger.warning("Could not open the join modal: %s", exc.response.get("error"))
        self._tell(respond, user_id, JOIN_FIRST)

    def join_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """The join modal: store the member's council, then publish what they were posting."""
        picked = input_value(view, ids.BLK_COUNCIL, ids.ACT_COUNCIL)
        typed = (input_value(view, ids.BLK_COUNCIL_NEW, ids.ACT_COUNCIL_NEW) or "").strip()
        role = input_value(view, ids.BLK_ROLE, ids.ACT_ROLE) or "practitioner"
        if not picked and not typed:
            ack(
                response_action="errors",
                errors={
                    ids.BLK_COUNCIL: "Choose your council, or type its name in the box below.",
                },
            )
            return
        if typed and len(typed) > 200:
            ack(response_action="errors", errors={ids.BLK_COUNCIL_NEW: "200 characters at most."})
            return
        ack()
        team_id, user_id = actor(body)
        name, email = profile(client, user_id)
        container = self.container
        try:
            joined = container.membership.join_from_form(
                team_id, user_id, picked=picked, typed=typed, role=role, name=name, email=email
            )
        except KmbotError as exc:
            self._tell(None, user_id, str(exc))
            return
        self._publish_kept(joined.kept, team_id, user_id, None, client)
        kick(container)
        refresh_home(container, client, user_id, team_id)

    def join_command(
        self, typed: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km join [council]: set or change the member's council, then publish kept posts."""
        team_id, user_id = actor(command)
        if not typed:
            client.views_open(trigger_id=command["trigger_id"], view=modals.join_modal())
            return
        name, email = profile(client, user_id)
        container = self.container
        joined = container.membership.join_by_name(team_id, user_id, typed, name=name, email=email)
        note = " (a council new to the network)" if joined.created else ""
        respond(
            notice(f"You're down as *{escape(joined.council)}*{note}."),
            response_type="ephemeral",
        )
        self._publish_kept(joined.kept, team_id, user_id, respond, client)
        refresh_home(container, client, user_id, team_id)

    def council_options(self, ack: Ack, payload: dict[str, Any]) -> None:
        """Type-ahead options for the council picker."""
        found = self.container.membership.council_options(payload.get("value") or "")
        ack(options=members.council_options(found))

    # ------------------------------------------------------------ the post modal
    def post_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """The want/offer modal: check it, then publish."""
        meta = (view.get("private_metadata") or "want").split(":")
        kind = PostKind.OFFER if meta[0] == "offer" else PostKind.WANT
        help_for = (
            int(meta[2])
            if len(meta) == 3 and meta[1] == "help" and meta[2].isascii() and meta[2].isdigit()
            else None
        )
        container = self.container
        team_id, user_id = actor(body)
        try:
            new = container.posting.draft(
                kind,
                input_value(view, ids.BLK_TEXT, ids.ACT_TEXT) or "",
                area=input_value(view, ids.BLK_AREA, ids.ACT_AREA),
                purpose=input_value(view, ids.BLK_PURPOSE, ids.ACT_PURPOSE),
                link=input_value(view, ids.BLK_LINK, ids.ACT_LINK),
            )
            container.posting.check_room(team_id, user_id, kind)
        except InvalidInput as exc:
            block = _FIELD_BLOCKS.get(exc.field or "text", ids.BLK_TEXT)
            ack(response_action="errors", errors={block: str(exc)})
            return
        except PostLimitReached as exc:
            ack(response_action="errors", errors={ids.BLK_TEXT: str(exc)})
            return
        if not self._joined(team_id, user_id, client):
            pending_id = container.posting.keep_until_joined(team_id, user_id, new)
            # Swap this modal for the join modal: no new trigger_id is needed.
            ack(
                response_action="update",
                view=modals.join_modal(private_metadata=f"pending:{pending_id}"),
            )
            return
        ack()
        self._publish(new, team_id, user_id, None, client, help_for=help_for)

    # ------------------------------------------------------------ replies
    def _tell(self, respond: Respond | None, user_id: str, text: str) -> None:
        self._send(respond, user_id, notice(escape(text)))

    def _send(self, respond: Respond | None, user_id: str, message: dict[str, Any]) -> None:
        if respond is not None:
            respond(**message, response_type="ephemeral", replace_original=False)
            return
        self.container.posting.tell(user_id, message)
        kick(self.container)


def register(app: App, container: Container) -> Posting:
    """Wire the posting listeners into the app; returns them (``/km join`` publishes through
    them)."""
    posting = Posting(container)
    app.command(ids.CMD_WANT)(posting.want_command)
    app.command(ids.CMD_OFFER)(posting.offer_command)
    app.view(ids.VIEW_POST)(posting.post_submitted)
    app.view(ids.VIEW_JOIN)(posting.join_submitted)
    app.options(ids.ACT_COUNCIL_PICK)(posting.council_options)
    return posting
