"""What every /km-admin subcommand gets: who is asking, how to answer, and parsing helpers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_bolt import Respond
from slack_sdk import WebClient

from bot.container import Container
from bot.kernel.text import escape, truncate
from bot.reports.files import ReportFile
from bot.slack import admin as admin_messages


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
