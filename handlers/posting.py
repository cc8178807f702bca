"""/want and /offer, the post modal, and joining (choosing one's council)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.kernel.errors import InvalidInput, KmbotError, NeedsCouncil, PostLimitReached
from bot.kernel.text import escape
from bot.kernel.vocabulary import PostKind
from bot.runtime.intake import Taken, Ticket
from bot.services.posting import Draft
from bot.slack import ids, members, modals
from bot.slack import posts as post_messages
from bot.slack.kit import notice
from handlers.common import (
    HELP_WORDS,
    PostForm,
    actor,
    form_errors,
    input_value,
    kick,
    process_soon,
    profile,
    refresh_home,
    reply,
)

logger = logging.getLogger(__name__)

# Stored work (bot.runtime.intake): a /want or /offer with text, and a checked post form.
JOB_COMMAND = "post_command"
JOB_FORM = "post_form"
# With this many posts queued ahead of a member's, they are told it is queued.
QUEUED_NOTICE_AHEAD = 20
# Slack's trigger_id lives three seconds: a modal is opened from stored work only before that.
TRIGGER_SECONDS = 2.5
GAVE_UP = (
    "Sorry: kmbot could not publish your post, after several tries. Nothing was published; "
    "please post it again in a few minutes."
)
JOIN_FIRST = (
    "First, which council do you work for? Type `/km join <your council>` and "
    "I'll publish your post straight after."
)


class Posting:
    """Listeners for posting; bound methods so Bolt sees their argument names."""

    def __init__(self, container: Container, client: WebClient) -> None:
        self.container = container
        # The Slack client stored work uses (it runs where no listener gave one).
        self.client = client
        self._seen_joined: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ slash commands
    def want_command(
        self,
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
    ) -> None:
        """/want [text]"""
        ack()
        self._command(command, respond, client, context)

    def offer_command(
        self,
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
        context: BoltContext,
    ) -> None:
        """/offer [text]"""
        ack()
        self._command(command, respond, client, context)

    def _command(
        self, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
    ) -> None:
        text = (command.get("text") or "").strip()
        if text.lower() in HELP_WORDS:
            respond(post_messages.help_text(self.container.settings.max_open_posts))
            return
        if not text:
            # trigger_id lives three seconds: open the modal before anything else.
            client.views_open(
                trigger_id=command["trigger_id"],
                view=modals.post_modal(command_kind(command)),
            )
            return
        # The request was stored before the ack, with the post in it: the posting work
        # (storing, matching, introducing, confirming) happens there, exactly once.
        taken = context.get("intake")
        if not isinstance(taken, Taken) or taken.job is None:
            # Not stored (no key to store it under): publish it here and now.
            self._post_command(command, None, self.container.clock())
            return
        process_soon(self.container)
        self._say_if_queued(taken, respond)

    def _say_if_queued(self, taken: Taken, respond: Respond) -> None:
        """Tell the member their post is queued when many are ahead of it (a workshop burst)."""
        try:
            ahead = self.container.intake_desk.waiting_before(taken.id)
        except Exception:  # only a courtesy: never let it trouble the post itself
            logger.warning("Could not count the posts queued ahead of request %s", taken.id)
            return
        if ahead >= QUEUED_NOTICE_AHEAD:
            respond(
                post_messages.queued(ahead, self.container.settings.marketplace_channel),
                response_type="ephemeral",
            )

    # ------------------------------------------------------------ stored work
    def publish_command(self, ticket: Ticket) -> None:
        """A stored ``/want`` or ``/offer`` with text: publish it (in the posting process)."""
        self._post_command(ticket.body, ticket, ticket.received_at)

    def _post_command(
        self, body: dict[str, Any], ticket: Ticket | None, received_at: datetime
    ) -> None:
        kind = PostKind(command_kind(body))
        team_id, user_id = actor(body)
        response_url = body.get("response_url") or None
        posting = self.container.posting
        try:
            new = posting.draft(kind, (body.get("text") or "").strip())
        except KmbotError as exc:
            posting.answer(
                ticket, notice(escape(str(exc))), response_url=response_url, user_id=user_id
            )
            return
        if not self._joined(team_id, user_id, self.client):
            opened = self._open_join_modal(received_at, body.get("trigger_id"))
            posting.keep_until_joined(
                team_id,
                user_id,
                new,
                ticket=ticket,
                response_url=response_url,
                message=None if opened else notice(escape(JOIN_FIRST)),
            )
            return
        self._publish(new, team_id, user_id, self.client, ticket=ticket, response_url=response_url)

    def publish_form(self, ticket: Ticket) -> None:
        """A stored post form, checked before its ack: publish it (in the posting process)."""
        body = ticket.body
        form = PostForm.of(body.get("view") or {})
        team_id, user_id = actor(body)
        try:
            new = self.container.posting.draft(form.kind, **form.fields)
        except KmbotError:
            return  # the form showed the problem and was never closed
        help_for = form.about(modals.HELP)
        self._publish(new, team_id, user_id, self.client, help_for=help_for, ticket=ticket)

    def give_up(self, ticket: Ticket, error: str) -> None:
        """Stored work that failed every attempt: tell its member, once."""
        _team_id, user_id = actor(ticket.body)
        self.container.posting.answer(
            ticket,
            notice(escape(GAVE_UP)),
            response_url=ticket.body.get("response_url") or None,
            user_id=user_id,
            failed=True,
        )

    def _open_join_modal(self, received_at: datetime, trigger_id: str | None) -> bool:
        """Ask for the member's council in a modal, while Slack's trigger is still fresh."""
        age = (self.container.clock() - received_at).total_seconds()
        if not trigger_id or age > TRIGGER_SECONDS:
            return False
        try:
            self.client.views_open(
                trigger_id=trigger_id, view=modals.join_modal(private_metadata="pending")
            )
        except SlackApiError as exc:
            logger.warning("Could not open the join modal: %s", exc.response.get("error"))
            return False
        return True

    # ------------------------------------------------------------ publishing
    def _publish(
        self,
        new: Draft,
        team_id: str,
        user_id: str,
        client: WebClient,
        help_for: int | None = None,
        *,
        ticket: Ticket | None = None,
        response_url: str | None = None,
    ) -> None:
        """Publish a joined member's post and tell them (on the response URL, or by DM) in the
        same transaction, which also finishes the stored request it came from."""
        container = self.container
        try:
            container.posting.publish(
                team_id,
                user_id,
                new,
                help_for=help_for,
                confirm_by_dm=response_url is None,
                ticket=ticket,
                response_url=response_url,
            )
        except PostLimitReached as exc:
            container.posting.answer(
                ticket,
                post_messages.cap_reached(exc.kind, exc.limit, exc.open_posts),
                response_url=response_url,
                user_id=user_id,
            )
            kick(container)
            return
        except NeedsCouncil:
            container.posting.keep_until_joined(
                team_id, user_id, new, ticket=ticket, message=notice(escape(JOIN_FIRST))
            )
            kick(container)
            return
        except KmbotError as exc:
            container.posting.answer(
                ticket, notice(escape(str(exc))), response_url=response_url, user_id=user_id
            )
            kick(container)
            return
        # App Home is not republished here: it is built afresh whenever the member opens it,
        # and posting work is the bottleneck in a burst.
        kick(container)

    def _publish_kept(
        self,
        kept: list[Draft],
        team_id: str,
        user_id: str,
        client: WebClient,
        *,
        response_url: str | None = None,
    ) -> None:
        """Publish the posts a member made before they joined, now that they have."""
        for new in kept:
            self._publish(new, team_id, user_id, client, response_url=response_url)

    # ------------------------------------------------------------ joining
    def _joined(self, team_id: str, user_id: str, client: WebClient) -> bool:
        """Whether the member has joined, joining them from their email domain if it says.

        A member seen joined is remembered: publishing checks again in its own transaction (and
        keeps the post, asking for a council, if they have since been erased)."""
        if (team_id, user_id) in self._seen_joined:
            return True
        if self.container.posting.has_joined(team_id, user_id):
            self._seen_joined.add((team_id, user_id))
            return True
        name, email = profile(client, user_id)
        joined = self.container.membership.join_from_email(team_id, user_id, name=name, email=email)
        return joined is not None

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
            reply(container, None, user_id, str(exc))
            return
        self._publish_kept(joined.kept, team_id, user_id, client)
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
        self._publish_kept(
            joined.kept, team_id, user_id, client, response_url=command.get("response_url")
        )
        refresh_home(container, client, user_id, team_id)

    def council_options(self, ack: Ack, payload: dict[str, Any]) -> None:
        """Type-ahead options for the council picker."""
        found = self.container.membership.council_options(payload.get("value") or "")
        ack(options=members.council_options(found))

    # ------------------------------------------------------------ the post modal
    def post_submitted(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        """The want/offer modal: check it, store it for the posting work, close it."""
        form = PostForm.of(view)
        container = self.container
        team_id, user_id = actor(body)
        try:
            new = container.posting.draft(form.kind, **form.fields)
            container.posting.check_room(team_id, user_id, form.kind)
        except (InvalidInput, PostLimitReached) as exc:
            ack(response_action="errors", errors=form_errors(exc))
            return
        if not self._joined(team_id, user_id, client):
            container.posting.keep_until_joined(team_id, user_id, new)
            # Swap this modal for the join modal: no new trigger_id is needed.
            ack(response_action="update", view=modals.join_modal(private_metadata="pending"))
            return
        # Checked: store the work before the form closes, so it outlives this process.
        taken = context.get("intake")
        if isinstance(taken, Taken) and container.intake_desk.defer(taken.id, JOB_FORM, body):
            ack()
            process_soon(container)
            return
        ack()  # not a stored request (Socket Mode without a key): publish here
        self._publish(new, team_id, user_id, client, help_for=form.about(modals.HELP))


def command_kind(body: dict[str, Any]) -> str:
    """ "want" or "offer": which command a stored or live command body is."""
    return "offer" if body.get("command") == ids.CMD_OFFER else "want"


def _has_post_text(body: dict[str, Any]) -> bool:
    """A /want or /offer that carries a post (not empty, not a plea for help)."""
    if body.get("command") not in (ids.CMD_WANT, ids.CMD_OFFER):
        return False
    text = str(body.get("text") or "").strip()
    return bool(text) and text.lower() not in HELP_WORDS


def register(app: App, container: Container) -> Posting:
    """Wire the posting listeners into the app; returns them (``/km join`` publishes through
    them)."""
    posting = Posting(container, app.client)
    container.intake_routes.add(
        JOB_COMMAND, _has_post_text, posting.publish_command, give_up=posting.give_up
    )
    # Forms are stored by their listener, once checked (``IntakeDesk.defer``).
    container.intake_routes.add(
        JOB_FORM, lambda _body: False, posting.publish_form, give_up=posting.give_up
    )
    app.command(ids.CMD_WANT)(posting.want_command)
    app.command(ids.CMD_OFFER)(posting.offer_command)
    app.view(ids.VIEW_POST)(posting.post_submitted)
    app.view(ids.VIEW_JOIN)(posting.join_submitted)
    app.options(ids.ACT_COUNCIL_PICK)(posting.council_options)
    return posting
