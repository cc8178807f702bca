"""Buttons on cards, introductions, nudges, reminders and App Home, and the outcome modal.

"Still needed" on a reminder is ``handlers.reminders``'.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.errors import InvalidInput, KmbotError, NotFound
from bot.kernel.text import escape
from bot.kernel.vocabulary import PostStatus
from bot.services.closing import check_days_saved
from bot.slack import ids, modals
from bot.slack.introductions import help_done
from handlers.common import (
    OUT_OF_DATE,
    actor,
    button_value,
    help_with,
    input_value,
    kick,
    post_id_from,
    refresh_home,
    ticked,
)

logger = logging.getLogger(__name__)


class Interactions:
    """Listeners for buttons and the outcome modal."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def _refuse(self, respond: Respond, text: str) -> None:
        respond(text=escape(text), response_type="ephemeral", replace_original=False)

    # ------------------------------------------------------------ introductions
    def intro_useful(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """ "Useful — we're talking"."""
        ack()
        self._answer(body, respond, client, useful=True)

    def intro_not_fit(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """ "Not a fit"."""
        ack()
        self._answer(body, respond, client, useful=False)

    def _answer(
        self, body: dict[str, Any], respond: Respond, client: WebClient, *, useful: bool
    ) -> None:
        intro_id = post_id_from(button_value(body))
        team_id, user_id = actor(body)
        if intro_id is None:
            self._refuse(respond, OUT_OF_DATE)
            return
        try:
            view = self.container.introductions.answer(team_id, user_id, intro_id, useful=useful)
        except KmbotError as exc:
            self._refuse(respond, str(exc))
            return
        kick(self.container)
        if not useful:
            thanks = "Thanks — marked not a fit."
        elif view.want.author_slack_id == user_id:
            thanks = (
                "Thanks — marked useful. Do tell the network what it saved when your want is "
                "fulfilled."
            )
        else:
            thanks = "Thanks — marked useful."
        respond(text=thanks, response_type="ephemeral", replace_original=False)
        logger.info("Introduction %s answered %s by %s", view.id, view.status, user_id)
        refresh_home(self.container, client, user_id, team_id)

    # ------------------------------------------------------------ card and nudge buttons
    def can_help(self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """ "I can help" on a want's card or a nudge, or "I'm interested" on an offer's card."""
        ack()
        post_id = post_id_from(button_value(body))
        if post_id is None:
            self._refuse(respond, OUT_OF_DATE)
            return
        try:
            done = help_with(self.container, client, body, post_id)
        except KmbotError as exc:
            self._refuse(respond, str(exc))
            return
        if done is None:
            return  # the post form is open
        made, held = done
        respond(
            text=help_done(made.want.label, made.offer.label, held=held, where="the card's thread"),
            response_type="ephemeral",
            replace_original=False,
        )

    # ------------------------------------------------------------ closing
    def close_from_list(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """ "Close" beside a post in the five-posts message."""
        ack()
        self._close(body, respond, client, PostStatus.WITHDRAWN)

    def withdraw(self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """ "Withdraw" on App Home or a reminder."""
        ack()
        self._close(body, respond, client, PostStatus.WITHDRAWN)

    def fulfilled(
        self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """ "Fulfilled": close the want and ask what it saved."""
        ack()
        post_id = post_id_from(button_value(body))
        team_id, user_id = actor(body)
        try:
            view = self.container.closing.own_post(team_id, user_id, post_id)
        except NotFound:
            self._refuse(respond, "Only the person who posted it can mark it fulfilled.")
            return
        if view.status == "open":
            # Open the modal first: the trigger expires in three seconds.
            client.views_open(trigger_id=body["trigger_id"], view=modals.outcome_modal(view))
        self._close(body, respond, client, PostStatus.FULFILLED, quiet=True)

    def _close(
        self,
        body: dict[str, Any],
        respond: Respond,
        client: WebClient,
        status: PostStatus,
        quiet: bool = False,
    ) -> None:
        post_id = post_id_from(button_value(body))
        team_id, user_id = actor(body)
        try:
            post = self.container.closing.close(team_id, user_id, post_id, status)
        except KmbotError as exc:
            if not quiet:
                self._refuse(respond, str(exc))
            return
        kick(self.container)
        if not quiet:
            respond(
                text=f"Closed {post.label} as {post.status}.",
                response_type="ephemeral",
                replace_original=False,
            )
        refresh_home(self.container, client, user_id, team_id)

    # ------------------------------------------------------------ outcomes
    def outcome_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """The outcome modal: days saved, a note, and whether the note may be shared."""
        raw_days = (input_value(view, ids.BLK_DAYS, ids.ACT_DAYS) or "").strip()
        note = input_value(view, ids.BLK_NOTE, ids.ACT_NOTE)
        share_note = modals.SHARE_NOTE in ticked(view, ids.BLK_SHARE_NOTE, ids.ACT_SHARE_NOTE)
        days: float | None = None
        if raw_days:
            try:
                days = float(raw_days)
            except ValueError:
                ack(
                    response_action="errors", errors={ids.BLK_DAYS: "Please give a number of days."}
                )
                return
            try:
                check_days_saved(days)
            except InvalidInput as exc:
                ack(response_action="errors", errors={ids.BLK_DAYS: str(exc)})
                return
        ack()
        post_id = post_id_from(view.get("private_metadata") or "")
        team_id, user_id = actor(body)
        if post_id is None:
            return
        try:
            self.container.closing.record_outcome(
                team_id, user_id, post_id, days=days, note=note, share_note=share_note
            )
        except KmbotError as exc:
            logger.info("Outcome not recorded: %s", exc)

    def open_post_modal(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """ "Post a want" / "Post an offer" on App Home."""
        ack()
        kind = button_value(body) if button_value(body) in ("want", "offer") else "want"
        client.views_open(trigger_id=body["trigger_id"], view=modals.post_modal(kind))


def register(app: App, container: Container) -> None:
    """Wire the buttons and the outcome modal into the app.

    "Fulfilled" and "Withdraw" on an expiry reminder carry the same action ids as App Home's
    buttons, and a nudge's "I can help" is the card's, so one listener answers each.
    """
    it = Interactions(container)
    app.action(ids.ACT_INTRO_USEFUL)(it.intro_useful)
    app.action(ids.ACT_INTRO_NOT_FIT)(it.intro_not_fit)
    app.action(ids.ACT_CAN_HELP)(it.can_help)
    app.action(ids.ACT_INTERESTED)(it.can_help)
    app.action(ids.ACT_NUDGE_HELP)(it.can_help)
    app.action(ids.ACT_CLOSE_POST)(it.close_from_list)
    app.action(ids.ACT_WITHDRAW)(it.withdraw)
    app.action(ids.ACT_FULFILLED)(it.fulfilled)
    app.action(ids.ACT_OPEN_POST_MODAL)(it.open_post_modal)
    app.view(ids.VIEW_OUTCOME)(it.outcome_submitted)
