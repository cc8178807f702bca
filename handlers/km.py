"""/km: help, mine, search, join, close — and what later features add."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Services
from bot.kernel.errors import KmbotError
from bot.kernel.text import escape, truncate
from bot.services.marketplace import close_post, member_overview, post_view, search_posts
from bot.services.membership import join_by_name
from bot.slack import blocks, ids
from handlers.common import actor, kick, post_id_from, profile, refresh_home
from storage import queries
from storage.models import PostStatus

logger = logging.getLogger(__name__)

Subcommand = Callable[[str, dict[str, Any], Respond, WebClient], None]


class KmCommand:
    """The /km command and its subcommands."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.subcommands: dict[str, Subcommand] = {
            "help": self.help,
            "mine": self.mine,
            "search": self.search,
            "join": self.join,
            "close": self.close,
        }

    def handle(
        self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """Dispatch /km <subcommand> [arguments]."""
        ack()
        text = (command.get("text") or "").strip()
        word, _, rest = text.partition(" ")
        sub = self.subcommands.get(word.lower())
        if sub is None:
            intro = "" if not word else f"I don't know `/km {escape(truncate(word, 40))}`. "
            respond(
                blocks.notice(intro + blocks.help_text(self.services.settings.max_open_posts)),
                response_type="ephemeral",
            )
            return
        try:
            sub(rest.strip(), command, respond, client)
        except KmbotError as exc:
            respond(blocks.notice(escape(str(exc))), response_type="ephemeral")

    def help(self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """/km help"""
        respond(
            blocks.notice(blocks.help_text(self.services.settings.max_open_posts)),
            response_type="ephemeral",
        )

    def mine(self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """/km mine: the member's open posts and introductions."""
        with self.services.session_factory() as session:
            team_id, user_id = actor(command)
            member = queries.member_by_slack_id(session, team_id, user_id)
            ov = member_overview(session, member)
        if member is None:
            respond(
                blocks.notice("You haven't posted anything yet. Try `/want` or `/offer`."),
                response_type="ephemeral",
            )
            return
        open_posts = [p for p in ov.posts if p.status == "open"]
        lines = [f"*Your open posts* ({escape(ov.council or '')}):"]
        lines += [
            f"• *{p.label}* {escape(truncate(p.text, 150))} — open until "
            f"{blocks.date_text(p.expires_at)}"
            for p in open_posts
        ] or ["• none"]
        lines.append("*Your introductions:*")
        state = {"proposed": "waiting", "confirmed": "useful", "declined": "not a fit"}
        for i in ov.introductions[:15]:
            other = i.offer if i.want.id in ov.post_ids else i.want
            lines.append(
                f"• {i.want.label} ↔ {i.offer.label} with {escape(other.council)}: "
                f"{state.get(i.status, i.status)}"
            )
        if not ov.introductions:
            lines.append("• none yet")
        lines.append("Close a post with `/km close <number>`.")
        respond(blocks.notice("\n".join(lines)), response_type="ephemeral")

    def search(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km search <words>: open posts ranked by match."""
        with self.services.session_factory() as session:
            found = search_posts(session, self.services.matcher, rest)
            views = [(post_view(p), s) for p, s in found]
        if not views:
            respond(
                blocks.notice(f"No open posts match “{escape(truncate(rest, 100))}”."),
                response_type="ephemeral",
            )
            return
        lines = [f"*Open posts matching “{escape(truncate(rest, 100))}”:*"]
        lines += [
            f"• *{v.label}* · {escape(v.council)} ({s}/100): {escape(truncate(v.text, 160))}"
            for v, s in views
        ]
        respond(blocks.notice("\n".join(lines)), response_type="ephemeral")

    def join(self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """/km join [council]: set or change the member's council."""
        team_id, user_id = actor(command)
        if not rest:
            client.views_open(trigger_id=command["trigger_id"], view=blocks.join_modal())
            return
        name, email = profile(client, user_id)
        services = self.services
        with services.session_factory.begin() as session:
            choice = join_by_name(
                session,
                services.directory,
                rest,
                team_id=team_id,
                user_id=user_id,
                name=name,
                email=email,
            )
            council_name = choice.council.name
            created = choice.created
            from bot.services.marketplace import take_pending

            pending = [
                (p.kind, p.text, p.area, p.purpose, p.link)
                for p in take_pending(session, team_id, user_id)
            ]
        note = " (a council new to the network)" if created else ""
        respond(
            blocks.notice(f"You're down as *{escape(council_name)}*{note}."),
            response_type="ephemeral",
        )
        posting = services.extras.get("posting")
        if posting is not None:
            posting.publish_kept(pending, team_id, user_id, respond, client)
        refresh_home(services, client, user_id, team_id)

    def close(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km close <number> [fulfilled]: close one of the member's posts."""
        words = rest.split()
        post_id = post_id_from(words[0]) if words else None
        if post_id is None:
            respond(
                blocks.notice(
                    "Which post? For example `/km close 12` (your post numbers are in `/km mine`)."
                ),
                response_type="ephemeral",
            )
            return
        fulfilled = len(words) > 1 and words[1].lower() in ("fulfilled", "done", "met")
        team_id, user_id = actor(command)
        with self.services.session_factory.begin() as session:
            member = queries.member_by_slack_id(session, team_id, user_id)
            post = close_post(
                session,
                member,
                post_id,
                PostStatus.FULFILLED if fulfilled else PostStatus.WITHDRAWN,
                matcher=self.services.matcher,
            )
            label, status = post_view(post).label, str(post.status)
        kick(self.services)
        respond(blocks.notice(f"Closed *{label}* as {status}."), response_type="ephemeral")
        refresh_home(self.services, client, user_id, team_id)


def register(app: App, services: Services) -> None:
    """Wire /km into the app."""
    km = KmCommand(services)
    app.command(ids.CMD_KM)(km.handle)
    services.extras["km"] = km
