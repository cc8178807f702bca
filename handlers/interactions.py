"""Buttons on cards, introductions and App Home, and the outcome modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Services
from bot.kernel.errors import KmbotError, NeedsCouncil, NotFound
from bot.kernel.text import escape
from bot.services.marketplace import (
    answer_introduction,
    close_post,
    introduction_view,
    offer_help,
    own_post,
    post_view,
    record_outcome,
)
from bot.slack import blocks, ids
from handlers.common import actor, button_value, kick, post_id_from, refresh_home
from storage import queries
from storage.models import Post, PostKind, PostStatus

logger = logging.getLogger(__name__)


class Interactions:
    """Listeners for buttons and the outcome modal."""

    def __init__(self, services: Services) -> None:
        self.services = services

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
            self._refuse(respond, "That button is out of date.")
            return
        try:
            with self.services.session_factory.begin() as session:
                member = queries.member_by_slack_id(session, team_id, user_id)
                intro = answer_introduction(session, member, intro_id, useful=useful)
                view = introduction_view(intro, session)
        except KmbotError as exc:
            self._refuse(respond, str(exc))
            return
        kick(self.services)
        thanks = (
            "Thanks — marked useful. Do tell the network what it saved when your want is fulfilled."
            if useful
            else "Thanks — marked not a fit."
        )
        respond(text=thanks, response_type="ephemeral", replace_original=False)
        logger.info("Introduction %s answered %s by %s", view.id, view.status, user_id)
        refresh_home(self.services, client, user_id, team_id)

    # ------------------------------------------------------------ card buttons
    def can_help(self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """ "I can help" on a want's card, or "I'm interested" on an offer's."""
        ack()
        post_id = post_id_from(button_value(body))
        team_id, user_id = actor(body)
        if post_id is None:
            self._refuse(respond, "That button is out of date.")
            return
        services = self.services
        try:
            with services.session_factory.begin() as session:
                member = queries.member_by_slack_id(session, team_id, user_id)
                if member is None:
                    raise NeedsCouncil()
                target = session.get(Post, post_id)
                intro = offer_help(
                    session, member, post_id, settings=services.settings, matcher=services.matcher
                )
                other_kind = "offer" if target and target.kind == PostKind.WANT else "want"
                made = introduction_view(intro, session) if intro is not None else None
        except NeedsCouncil:
            # Not joined yet: posting from the modal will ask for their council first.
            self._open_help_modal(body, client, post_id, respond)
            return
        except KmbotError as exc:
            self._refuse(respond, str(exc))
            return
        if made is None:
            # Nothing to introduce them with yet: ask for the offer (or want) itself.
            self._open_help_modal(body, client, post_id, respond, kind=other_kind)
            return
        kick(services)
        respond(
            text=f"Done — I've introduced {made.want.label} and {made.offer.label} in the "
            f"card's thread.",
            response_type="ephemeral",
            replace_original=False,
        )

    def _open_help_modal(
        self,
        body: dict[str, Any],
        client: WebClient,
        post_id: int,
        respond: Respond,
        kind: str = "",
    ) -> None:
        if not kind:
            with self.services.session_factory() as session:
                target = session.get(Post, post_id)
                kind = "offer" if target is None or target.kind == PostKind.WANT else "want"
        client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.post_modal(kind, private_metadata=f"{kind}:help:{post_id}"),
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
            with self.services.session_factory() as session:
                member = queries.member_by_slack_id(session, team_id, user_id)
                view = post_view(own_post(session, member, post_id))
        except NotFound:
            self._refuse(respond, "Only the person who posted it can mark it fulfilled.")
            return
        if view.status == "open":
            # Open the modal first: the trigger expires in three seconds.
            client.views_open(trigger_id=body["trigger_id"], view=blocks.outcome_modal(view))
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
            with self.services.session_factory.begin() as session:
                member = queries.member_by_slack_id(session, team_id, user_id)
                post = close_post(session, member, post_id, status, matcher=self.services.matcher)
                label, state = post_view(post).label, str(post.status)
        except KmbotError as exc:
            if not quiet:
                self._refuse(respond, str(exc))
            return
        kick(self.services)
        if not quiet:
            respond(
                text=f"Closed {label} as {state}.",
                response_type="ephemeral",
                replace_original=False,
            )
        refresh_home(self.services, client, user_id, team_id)

    def outcome_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """The outcome modal: days saved and a note."""
        values = view["state"]["values"]
        raw_days = (values.get(ids.BLK_DAYS, {}).get(ids.ACT_DAYS, {}).get("value") or "").strip()
        note = values.get(ids.BLK_NOTE, {}).get(ids.ACT_NOTE, {}).get("value")
        days: float | None = None
        if raw_days:
            try:
                days = float(raw_days)
            except ValueError:
                ack(
                    response_action="errors", errors={ids.BLK_DAYS: "Please give a number of days."}
                )
                return
            if not 0 <= days <= 5000:
                ack(
                    response_action="errors",
                    errors={ids.BLK_DAYS: "Days saved must be between 0 and 5,000."},
                )
                return
        ack()
        post_id = post_id_from(view.get("private_metadata") or "")
        team_id, user_id = actor(body)
        with self.services.session_factory.begin() as session:
            member = queries.member_by_slack_id(session, team_id, user_id)
            if member is None or post_id is None:
                return
            try:
                record_outcome(session, member, post_id, days=days, note=note)
            except KmbotError as exc:
                logger.info("Outcome not recorded: %s", exc)

    def open_post_modal(self, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        """ "Post a want" / "Post an offer" on App Home."""
        ack()
        kind = button_value(body) if button_value(body) in ("want", "offer") else "want"
        client.views_open(trigger_id=body["trigger_id"], view=blocks.post_modal(kind))


def register(app: App, services: Services) -> None:
    """Wire the buttons and the outcome modal into the app."""
    it = Interactions(services)
    app.action(ids.ACT_INTRO_USEFUL)(it.intro_useful)
    app.action(ids.ACT_INTRO_NOT_FIT)(it.intro_not_fit)
    app.action(ids.ACT_CAN_HELP)(it.can_help)
    app.action(ids.ACT_INTERESTED)(it.can_help)
    app.action(ids.ACT_CLOSE_POST)(it.close_from_list)
    app.action(ids.ACT_WITHDRAW)(it.withdraw)
    app.action(ids.ACT_FULFILLED)(it.fulfilled)
    app.action(ids.ACT_OPEN_POST_MODAL)(it.open_post_modal)
    app.view(ids.VIEW_OUTCOME)(it.outcome_submitted)
