"""What every /km-admin subcommand gets: who is asking, how to answer, and parsing helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Container
from bot.kernel.errors import InvalidInput
from bot.kernel.text import escape, truncate
from bot.reports.files import ReportFile
from bot.slack import admin as admin_messages

# A channel as Slack sends it in command text (<#C0123|name>), or its id.
_CHANNEL = re.compile(r"^(?:<#([CG][A-Z0-9]+)(?:\|([^>]*))?>|([CG][A-Z0-9]{2,}))$")


def is_channel_word(word: str) -> bool:
    """Whether a word of command text names a channel: a link, an id or ``#name``."""
    return word.startswith("#") or _CHANNEL.match(word) is not None


@dataclass
class Request:
    """Who is asking, and how to answer them."""

    container: Container
    team_id: str
    user_id: str
    member_id: int
    respond: Respond
    client: WebClient

    def say(self, text: str) -> None:
        """An ephemeral reply (mrkdwn we wrote, user text already escaped)."""
        self.respond(admin_messages.long_notice(text), response_type="ephemeral")

    def send_files(self, files: Sequence[ReportFile], comment: str) -> None:
        """Upload ``files`` to the asker's direct message with kmbot, under ``comment``."""
        opened = self.client.conversations_open(users=self.user_id)
        self.client.files_upload_v2(
            channel=opened["channel"]["id"],
            file_uploads=[
                {"content": f.content, "filename": f.name, "title": f.title} for f in files
            ],
            initial_comment=comment,
        )

    def channel(self, text: str) -> tuple[str, str]:
        """(channel id, name) from ``<#C123|name>``, ``C123`` or ``#name``, checked with Slack
        where it can be; InvalidInput if there is no such channel (the name may be "")."""
        text = text.strip()
        found = _CHANNEL.match(text)
        if found and found.group(1):
            return found.group(1), found.group(2) or ""
        if found:
            try:
                info = self.client.conversations_info(channel=text)
            except SlackApiError as exc:
                if exc.response.get("error") != "channel_not_found":
                    return text, ""  # not ours to check (a private channel, say): taken as given
            else:
                return text, str((info.get("channel") or {}).get("name") or "")
        # Without "escape channels" in the command's settings Slack sends "#name" as typed.
        wanted = text.lstrip("#").lower()
        if text.startswith("#") and wanted:
            cursor = None
            for _page in range(50):
                listed = self.client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=200,
                    cursor=cursor,
                )
                for channel in listed.get("channels") or []:
                    if str(channel.get("name", "")).lower() == wanted:
                        return str(channel["id"]), str(channel["name"])
                cursor = (listed.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        raise InvalidInput(
            f"I can't find the channel {escape(truncate(text, 60))}. Pick it from the list Slack "
            "shows as you type #, or give its id (it starts with C). For a private channel, "
            "invite me to it first (`/invite @kmbot`)."
        )

    def unknown(self, topic: str, word: str) -> None:
        """Say that ``word`` is not a subcommand of ``topic``, with the topic's help."""
        lead = f"I don't know `/km-admin {topic} {escape(truncate(word, 40))}`.\n" if word else ""
        self.say(lead + admin_messages.HELP[topic])


Subcommand = Callable[[Request, str], None]


def split(text: str) -> tuple[str, str]:
    """The first word (lower case) and the rest."""
    word, _, rest = text.strip().partition(" ")
    return word.lower(), rest.strip()


def partition_word(text: str, word: str) -> tuple[str, str, str]:
    """Split ``text`` at the last standalone ``word`` (e.g. "to", "into")."""
    parts = re.split(rf"\s+{word}\s+", f" {text} ", flags=re.IGNORECASE)
    if len(parts) < 2:
        return text.strip(), "", ""
    return f" {word} ".join(parts[:-1]).strip(), word, parts[-1].strip()
