"""Editing one's own post: the "Edit" button (a card, App Home), its modal, and the stored save.

The modal is checked before it closes; the save is stored (``IntakeDesk.defer``) and done by
the posting work, as a new post's form is, so an edit that was accepted is never lost.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.errors import InvalidInput, KmbotError
from bot.kernel.text import escape
from bot.runtime.intake import Taken, Ticket
from bot.services.editing import EditingService
from bot.slack import ids, modals
from bot.slack.kit import notice
from handlers.common import (
    PostForm,
    actor,
    button_value,
    form_errors,
    kick,
    post_id_from,
    process_soon,
    refresh_home,
    reply,
)

logger = logging.getLogger(__name__)

JOB_EDIT = "post_edit"
OUT_OF_DATE = "That form is out of date: press Edit on the post again."
GAVE_UP = (
    "Sorry: kmbot could not save your changes, after several tries. Your post is as it was; "
    "please edit it again in a few minutes."
)


class Editing:
    """Listeners for editing a post; bound methods so Bolt sees their argument names."""

    def __init__(self, container: Container, client: WebClient, editing: EditingService) -> None:
        self.container = container
        self.client = client  # stored work runs where no listener gave one
        self.editing = editing

    def edit_clicked(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        """ "Edit" on a card or App Home: the post form, filled in, for the author only."""
        ack()
        team_id, user_id = actor(body)
        try:
            post = self.editing.own_open_post(team_id, user_id, post_id_from(button_value(body)))
        except KmbotError as exc:
            # App Home has nowhere to answer in place: a direct message.
            reply(self.container, respond if body.get("response_url") else None, user_id, str(exc))
            return
        client.views_open(trigger_id=body["trigger_id"], view=modals.edit_modal(post))

    def edit_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
    ) -> None:
        """The edit form: check it as a new post is checked, store the save, close it."""
        form = PostForm.of(view)
        team_id, user_id = actor(body)
        try:
            self.container.posting.draft(form.kind, **form.fields)
            self.editing.own_open_post(team_id, user_id, form.about(modals.EDIT))
        except KmbotError as exc:
            ack(response_action="errors", errors=form_errors(exc))
            return
        taken = context.get("intake")
        if isinstance(taken, Taken) and self.container.intake_desk.defer(taken.id, JOB_EDIT, body):
            ack()
            process_soon(self.container)
            return
        ack()  # not a stored request (Socket Mode without a key): save it here
        self._save(body, None)

    def save_stored(self, ticket: Ticket) -> None:
        """A stored edit, checked before its ack: save it (in the posting process)."""
        self._save(ticket.body, ticket)

    def _save(self, body: dict[str, Any], ticket: Ticket | None) -> None:
        form = PostForm.of(body.get("view") or {})
        post_id = form.about(modals.EDIT)
        team_id, user_id = actor(body)
        container = self.container
        try:
            if post_id is None:
                raise InvalidInput(OUT_OF_DATE)
            new = container.posting.draft(form.kind, **form.fields)
            self.editing.save(team_id, user_id, post_id, new, ticket=ticket)
        except KmbotError as exc:
            # Closed or removed since the form was opened: say so, and finish the request.
            container.posting.answer(ticket, notice(escape(str(exc))), user_id=user_id)
            kick(container)
            return
        kick(container)
        # The member may be looking at App Home, where the post is listed.
        refresh_home(container, self.client, user_id, team_id)

    def give_up(self, ticket: Ticket, error: str) -> None:
        """A stored edit that failed every attempt: tell its member, once."""
        _team_id, user_id = actor(ticket.body)
        self.container.posting.answer(ticket, notice(escape(GAVE_UP)), user_id=user_id, failed=True)


def register(app: App, container: Container) -> None:
    """Wire editing into the app."""
    it = Editing(container, app.client, container.editing)
    container.intake_routes.add(JOB_EDIT, lambda _body: False, it.save_stored, give_up=it.give_up)
    app.action(ids.ACT_EDIT_POST)(it.edit_clicked)
    app.view(ids.VIEW_EDIT)(it.edit_submitted)
