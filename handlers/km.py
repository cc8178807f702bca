"""/km: help, mine, search and close; join, my-data and forget-me are wired in by
``handlers.register_all`` from the modules that own them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.errors import KmbotError
from bot.kernel.text import escape, truncate
from bot.kernel.vocabulary import PostStatus
from bot.slack import ids
from bot.slack import posts as post_messages
from bot.slack.kit import date_text, notice
from handlers.common import actor, kick, post_id_from, refresh_home

logger = logging.getLogger(__name__)

Subcommand = Callable[[str, dict[str, Any], Respond, WebClient], None]
INTRODUCTION_STATES = {"proposed": "waiting", "confirmed": "useful", "declined": "not a fit"}


class KmCommand:
    """The /km command and its subcommands."""

    def __init__(self, container: Container, more: Mapping[str, Subcommand]) -> None:
        self.container = container
        self.subcommands: dict[str, Subcommand] = {
            "help": self.help,
            "mine": self.mine,
            "search": self.search,
            "close": self.close,
            **more,
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
                notice(intro + post_messages.help_text(self.container.settings.max_open_posts)),
                response_type="ephemeral",
            )
            return
        try:
            sub(rest.strip(), command, respond, client)
        except KmbotError as exc:
            respond(notice(escape(str(exc))), response_type="ephemeral")

    def help(self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """/km help"""
        respond(
            notice(post_messages.help_text(self.container.settings.max_open_posts)),
            response_type="ephemeral",
        )

    def mine(self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        """/km mine: the member's open posts and introductions."""
        team_id, user_id = actor(command)
        if not self.container.browsing.is_member(team_id, user_id):
            respond(
                notice("You haven't posted anything yet. Try `/want` or `/offer`."),
                response_type="ephemeral",
            )
            return
        ov = self.container.browsing.overview(team_id, user_id)
        open_posts = [p for p in ov.posts if p.status == "open"]
        lines = [f"*Your open posts* ({escape(ov.council or '')}):"]
        lines += [
            f"• *{p.label}* {escape(truncate(p.text, 150))} — open until {date_text(p.expires_at)}"
            for p in open_posts
        ] or ["• none"]
        lines.append("*Your introductions:*")
        for i in ov.introductions[:15]:
            other = i.offer if i.want.id in ov.post_ids else i.want
            lines.append(
                f"• {i.want.label} ↔ {i.offer.label} with {escape(other.council)}: "
                f"{INTRODUCTION_STATES.get(i.status, i.status)}"
            )
        if not ov.introductions:
            lines.append("• none yet")
        lines.append("Close a post with `/km close <number>`.")
        respond(notice("\n".join(lines)), response_type="ephemeral")

    def search(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km search <words>: open posts ranked by match."""
        views = self.container.browsing.search(rest)
        if not views:
            respond(
                notice(f"No open posts match “{escape(truncate(rest, 100))}”."),
                response_type="ephemeral",
            )
            return
        lines = [f"*Open posts matching “{escape(truncate(rest, 100))}”:*"]
        lines += [
            f"• *{v.label}* · {escape(v.council)} ({s}/100): {escape(truncate(v.text, 160))}"
            for v, s in views
        ]
        respond(notice("\n".join(lines)), response_type="ephemeral")

    def close(
        self, rest: str, command: dict[str, Any], respond: Respond, client: WebClient
    ) -> None:
        """/km close <number> [fulfilled]: close one of the member's posts."""
        words = rest.split()
        post_id = post_id_from(words[0]) if words else None
        if post_id is None:
            respond(
                notice(
                    "Which post? For example `/km close 12` (your post numbers are in `/km mine`)."
                ),
                response_type="ephemeral",
            )
            return
        fulfilled = len(words) > 1 and words[1].lower() in ("fulfilled", "done", "met")
        team_id, user_id = actor(command)
        post = self.container.closing.close(
            team_id,
            user_id,
            post_id,
            PostStatus.FULFILLED if fulfilled else PostStatus.WITHDRAWN,
        )
        kick(self.container)
        respond(notice(f"Closed *{post.label}* as {post.status}."), response_type="ephemeral")
        refresh_home(self.container, client, user_id, team_id)


def register(app: App, container: Container, more: Mapping[str, Subcommand]) -> KmCommand:
    """Wire /km into the app, with the subcommands other modules own (``more``)."""
    km = KmCommand(container, more)
    app.command(ids.CMD_KM)(km.handle)
    return km
