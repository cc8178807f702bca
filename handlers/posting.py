"""/want and /offer, the post modal, and joining (choosing one's council)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.kernel.errors import KmbotError, PostLimitReached
from bot.services.marketplace import (
    keep_pending,
    notify_member,
    notify_user,
    post_view,
    publish_post,
    take_pending,
    validate_post_fields,
)
from bot.services.membership import (
    council_for,
    council_for_choice,
    ensure_reference_councils,
    guess_council,
    join_by_name,
    join_member,
)
from bot.slack import blocks, ids
from handlers.common import actor, kick, later, profile, refresh_home
from storage import queries
from storage.models import PostKind, Role

logger = logging.getLogger(__name__)

HELP_WORDS = {"help", "?", "-h", "--help"}


class PostHandlers:
    """Listeners for posting; bound methods so Bolt sees their argument names."""

    def __init__(self, services: Services) -> None:
        self.services = services

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
            respond(blocks.help_text(self.services.settings.max_open_posts))
            return
        if not text:
            # trigger_id lives three seconds: open the modal before anything else.
            client.views_open(trigger_id=command["trigger_id"], view=blocks.post_modal(str(kind)))
            return
        # Storing, matching and introducing happen off Bolt's listener threads, so the next
        # member's ack never waits behind this member's post.
        later(self.services, respond, self._publish_command, kind, text, command, respond, client)

    def _publish_command(
        self,
        kind: PostKind,
        text: str,
        command: dict[str, Any],
        respond: Respond,
        client: WebClient,
    ) -> None:
        self.publish(
            kind,
            text,
            body=command,
            respond=respond,
            client=client,
            trigger_id=command.get("trigger_id"),
        )

    # ------------------------------------------------------------ publishing
    def publish(
        self,
        kind: PostKind,
        text: str,
        *,
        body: dict[str, Any],
        respond: Respond | None,
        client: WebClient,
        trigger_id: str | None = None,
        area: str | None = None,
        purpose: str | None = None,
        link: str | None = None,
        help_for: int | None = None,
    ) -> None:
        """Publish a post for the acting member, asking which council they work for if needed."""
        services = self.services
        team_id, user_id = actor(body)
        try:
            text, area, purpose, link = validate_post_fields(
                text,
                max_length=services.settings.max_post_length,
                area=area,
                purpose=purpose,
                link=link,
            )
        except KmbotError as exc:
            self._tell(respond, client, user_id, str(exc))
            return
        with services.session_factory() as session:
            member = queries.member_by_slack_id(session, team_id, user_id)
            joined = member is not None and member.council_id is not None
        if not joined and not self._join_from_profile(team_id, user_id, client):
            pending_id = self._keep(kind, text, team_id, user_id, area, purpose, link)
            self._ask_council(client, trigger_id, respond, user_id, f"pending:{pending_id}")
            return
        self._publish_as_member(
            kind,
            text,
            team_id,
            user_id,
            respond,
            client,
            area=area,
            purpose=purpose,
            link=link,
            help_for=help_for,
        )

    def _publish_as_member(
        self,
        kind: PostKind,
        text: str,
        team_id: str,
        user_id: str,
        respond: Respond | None,
        client: WebClient,
        **fields: Any,
    ) -> None:
        services = self.services
        try:
            with services.session_factory.begin() as session:
                member = queries.member_by_slack_id(session, team_id, user_id)
                assert member is not None
                result = publish_post(
                    session,
                    member,
                    kind,
                    text,
                    settings=services.settings,
                    matcher=services.matcher,
                    **fields,
                )
                from bot.services.marketplace import introduction_view

                reply = blocks.post_confirmation(
                    post_view(result.post),
                    services.settings.marketplace_channel,
                    [introduction_view(i, session) for i in result.introductions],
                    [(post_view(p), s) for p, s in result.candidates],
                )
                if respond is None:
                    notify_member(session, member, reply, kind="confirmation")
        except PostLimitReached as exc:
            self._send(
                respond, client, user_id, blocks.cap_reached(exc.kind, exc.limit, exc.open_posts)
            )
            return
        except KmbotError as exc:
            self._tell(respond, client, user_id, str(exc))
            return
        kick(services)
        if respond is not None:
            respond(**reply, response_type="ephemeral")
        refresh_home(services, client, user_id, team_id)

    def _keep(
        self,
        kind: PostKind,
        text: str,
        team_id: str,
        user_id: str,
        area: str | None,
        purpose: str | None,
        link: str | None,
    ) -> int:
        """Keep a post while its author joins; returns its place on the waiting list."""
        with self.services.session_factory.begin() as session:
            pending = keep_pending(
                session,
                team_id=team_id,
                user_id=user_id,
                kind=kind,
                text=text,
                area=area,
                purpose=purpose,
                link=link,
            )
            return pending.id

    def publish_kept(
        self,
        kept: list[tuple[Any, ...]],
        team_id: str,
        user_id: str,
        respond: Respond | None,
        client: WebClient,
    ) -> None:
        """Publish the posts a member made before they joined, now that they have."""
        for kind, text, area, purpose, link in kept:
            self._publish_as_member(
                kind, text, team_id, user_id, respond, client, area=area, purpose=purpose, link=link
            )

    # ------------------------------------------------------------ joining
    def _join_from_profile(self, team_id: str, user_id: str, client: WebClient) -> bool:
        """Join the member straight away when their email domain names one council."""
        name, email = profile(client, user_id)
        guess = guess_council(self.services.directory, email)
        if guess is None or guess.record is None:
            return False
        with self.services.session_factory.begin() as session:
            join_by_name(
                session,
                self.services.directory,
                guess.record.name,
                team_id=team_id,
                user_id=user_id,
                name=name,
                email=email,
            )
        logger.info("Joined %s to %s from their email domain", user_id, guess.record.name)
        return True

    def _ask_council(
        self,
        client: WebClient,
        trigger_id: str | None,
        respond: Respond | None,
        user_id: str,
        metadata: str,
    ) -> None:
        if trigger_id:
            try:
                client.views_open(
                    trigger_id=trigger_id, view=blocks.join_modal(private_metadata=metadata)
                )
                return
            except SlackApiError as exc:
                logger.warning("Could not open the join modal: %s", exc.response.get("error"))
        self._tell(
            respond,
            client,
            user_id,
            "First, which council do you work for? Type `/km join <your council>` and "
            "I'll publish your post straight after.",
        )

    def join_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """The join modal: store the member's council, then publish what they were posting."""
        values = view["state"]["values"]
        picked = (
            values.get(ids.BLK_COUNCIL, {}).get(ids.ACT_COUNCIL, {}).get("selected_option") or {}
        ).get("value")
        typed = (
            values.get(ids.BLK_COUNCIL_NEW, {}).get(ids.ACT_COUNCIL_NEW, {}).get("value") or ""
        ).strip()
        role_value = (
            values.get(ids.BLK_ROLE, {}).get(ids.ACT_ROLE, {}).get("selected_option") or {}
        ).get("value") or "practitioner"
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
        services = self.services
        try:
            with services.session_factory.begin() as session:
                ensure_reference_councils(session, services.directory)
                if picked:
                    council = council_for_choice(session, picked, services.directory)
                else:
                    choice = council_for(session, typed, services.directory)
                    assert choice is not None
                    council = choice.council
                member = join_member(
                    session,
                    team_id=team_id,
                    user_id=user_id,
                    council=council,
                    name=name,
                    email=email,
                    role=_role(role_value),
                )
                notify_member(
                    session,
                    member,
                    blocks.notice(
                        f"Welcome to the Wants & Offers Marketplace. You're down as "
                        f"*{blocks.escape(council.name)}*; `/km join` changes it."
                    ),
                )
                pending = [
                    (p.kind, p.text, p.area, p.purpose, p.link)
                    for p in take_pending(session, team_id, user_id)
                ]
        except KmbotError as exc:
            self._tell(None, client, user_id, str(exc))
            return
        self.publish_kept(pending, team_id, user_id, None, client)
        kick(services)
        refresh_home(services, client, user_id, team_id)

    def council_options(self, ack: Ack, payload: dict[str, Any]) -> None:
        """Type-ahead options for the council picker."""
        query = (payload.get("value") or "").strip()
        found = self.services.directory.search(query, limit=20) if query else []
        options = [
            {
                "text": {"type": "plain_text", "text": blocks.truncate(r.name, 75)},
                "value": f"ref:{r.name}"[:150],
            }
            for r in found
        ]
        ack(options=options)

    # ------------------------------------------------------------ the post modal
    def post_submitted(
        self, ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        """The want/offer modal: check it, then publish."""
        values = view["state"]["values"]
        text = values.get(ids.BLK_TEXT, {}).get(ids.ACT_TEXT, {}).get("value") or ""
        area = (
            values.get(ids.BLK_AREA, {}).get(ids.ACT_AREA, {}).get("selected_option") or {}
        ).get("value")
        purpose = (
            values.get(ids.BLK_PURPOSE, {}).get(ids.ACT_PURPOSE, {}).get("selected_option") or {}
        ).get("value")
        link = values.get(ids.BLK_LINK, {}).get(ids.ACT_LINK, {}).get("value")
        meta = (view.get("private_metadata") or "want").split(":")
        kind = PostKind.OFFER if meta[0] == "offer" else PostKind.WANT
        help_for = (
            int(meta[2])
            if len(meta) == 3 and meta[1] == "help" and meta[2].isascii() and meta[2].isdigit()
            else None
        )
        services = self.services
        try:
            validate_post_fields(
                text,
                max_length=services.settings.max_post_length,
                area=area,
                purpose=purpose,
                link=link,
            )
        except KmbotError as exc:
            block = ids.BLK_LINK if "link" in str(exc).lower() else ids.BLK_TEXT
            ack(response_action="errors", errors={block: str(exc)})
            return
        team_id, user_id = actor(body)
        with services.session_factory() as session:
            member = queries.member_by_slack_id(session, team_id, user_id)
            if member is not None:
                open_now = queries.open_posts_of(session, member.id, kind)
                if len(open_now) >= services.settings.max_open_posts:
                    ack(
                        response_action="errors",
                        errors={
                            ids.BLK_TEXT: (
                                f"You already have {services.settings.max_open_posts} "
                                f"open {kind}s. "
                                f"Close one first (App Home or `/km mine`)."
                            )
                        },
                    )
                    return
            joined = member is not None and member.council_id is not None
        if not joined and not self._join_from_profile(team_id, user_id, client):
            pending_id = self._keep(kind, text, team_id, user_id, area, purpose, link)
            # Swap this modal for the join modal: no new trigger_id is needed.
            ack(
                response_action="update",
                view=blocks.join_modal(private_metadata=f"pending:{pending_id}"),
            )
            return
        ack()
        self._publish_as_member(
            kind,
            text,
            team_id,
            user_id,
            None,
            client,
            area=area,
            purpose=purpose,
            link=link,
            help_for=help_for,
        )

    # ------------------------------------------------------------ replies
    def _tell(self, respond: Respond | None, client: WebClient, user_id: str, text: str) -> None:
        self._send(respond, client, user_id, blocks.notice(blocks.escape(text)))

    def _send(
        self, respond: Respond | None, client: WebClient, user_id: str, message: dict[str, Any]
    ) -> None:
        if respond is not None:
            respond(**message, response_type="ephemeral", replace_original=False)
            return
        with self.services.session_factory.begin() as session:
            notify_user(session, user_id, message)
        kick(self.services)


def _role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


def register(app: App, services: Services) -> None:
    """Wire the posting listeners into the app."""
    handlers = PostHandlers(services)
    app.command(ids.CMD_WANT)(handlers.want_command)
    app.command(ids.CMD_OFFER)(handlers.offer_command)
    app.view(ids.VIEW_POST)(handlers.post_submitted)
    app.view(ids.VIEW_JOIN)(handlers.join_submitted)
    app.options(ids.ACT_COUNCIL_PICK)(handlers.council_options)
    services.extras["posting"] = handlers
