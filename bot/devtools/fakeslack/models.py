"""Records held by the fake Slack: what was called, and what the workspace now contains."""

from __future__ import annotations

import copy
import mimetypes
from dataclasses import dataclass, field
from typing import Any


class SlackError(Exception):
    """A Slack-level failure: answered with HTTP 200 and ``{"ok": false, "error": code}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the JSON body Slack would send for this error."""
        return {"ok": False, "error": self.error, **self.extra}


@dataclass(frozen=True)
class Call:
    """One request the fake received, as the test suite sees it."""

    method: str  # a Slack method name, or "response_url" / "upload_url"
    params: dict[str, Any]
    headers: dict[str, str]  # keys in lower case
    at: float  # time.time() when recorded
    status: int  # HTTP status sent; 0 when the connection was dropped
    outcome: str  # "ok" | "error" | a fault kind
    applied: bool = False  # whether the workspace changed (or would have, for reads)
    response: dict[str, Any] | None = None  # the JSON body computed, even if never delivered

    @property
    def error(self) -> str | None:
        """Return the Slack error code of the response, if any."""
        if self.response is None or self.response.get("ok", True):
            return None
        return str(self.response.get("error"))


@dataclass
class User:
    """A member of the fake workspace."""

    id: str
    name: str
    email: str | None = None
    real_name: str | None = None
    team_id: str = "T0KMBOT"
    is_admin: bool = False
    is_bot: bool = False
    deleted: bool = False
    tz: str = "Europe/London"

    def profile(self) -> dict[str, Any]:
        """Return the ``profile`` object of users.info / users.profile.get."""
        real = self.real_name or self.name
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "team": self.team_id,
        }
        if self.email is not None:
            profile["email"] = self.email
        return profile

    def to_api(self) -> dict[str, Any]:
        """Return the ``user`` object of users.info."""
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name or self.name,
            "tz": self.tz,
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "is_admin": self.is_admin,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": self.profile(),
        }


@dataclass
class Channel:
    """A conversation: public or private channel, DM (``is_im``) or group DM (``is_mpim``)."""

    id: str
    name: str
    created: int
    is_im: bool = False
    is_mpim: bool = False
    is_private: bool = False
    is_member: bool = True
    user: str | None = None  # the other party of a DM
    members: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        """Return the ``channel`` object of conversations.info."""
        if self.is_im:
            return {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
            }
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": self.created,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "is_archived": False,
            "is_general": False,
            "is_member": self.is_member,
        }


@dataclass
class Message:
    """A message the bot posted (top-level or a thread reply)."""

    channel: str
    ts: str
    user: str
    text: str = ""
    thread_ts: str | None = None  # set on replies only, as the parent's ts
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    edited: bool = False
    deleted: bool = False
    reply_count: int = 0
    reply_users: list[str] = field(default_factory=list)
    latest_reply: str | None = None
    broadcast: bool = False  # a reply also shown in the channel (reply_broadcast)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # file ids shared by this message
    extra: dict[str, Any] = field(default_factory=dict)  # other chat.postMessage arguments

    @property
    def is_reply(self) -> bool:
        """Whether this message is a reply in a thread."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, team_id: str, bot_id: str, include_metadata: bool = True) -> dict[str, Any]:
        """Return the message as conversations.history and chat.postMessage show it."""
        out: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "ts": self.ts,
            "team": team_id,
            "bot_id": bot_id,
        }
        if self.blocks is not None:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments is not None:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
        if self.broadcast:
            out["subtype"] = "thread_broadcast"
        if not self.is_reply and self.reply_count:
            out["reply_count"] = self.reply_count
            out["reply_users"] = list(self.reply_users)
            out["reply_users_count"] = len(self.reply_users)
            out["latest_reply"] = self.latest_reply
        if self.edited:
            out["edited"] = {"user": self.user, "ts": self.ts}
        if include_metadata and self.metadata is not None:
            out["metadata"] = copy.deepcopy(self.metadata)
        if self.reactions:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if self.files:
            out["files"] = [{"id": file_id} for file_id in self.files]
            out["upload"] = True
        return out


@dataclass
class Ephemeral:
    """A message only one user sees: chat.postEphemeral or an ephemeral response_url reply."""

    channel: str | None
    user: str | None
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    source: str = "chat.postEphemeral"  # or "response_url"
    replaced: bool = False  # replaced through a response_url with replace_original
    deleted: bool = False


@dataclass
class UploadedFile:
    """A file the bot uploaded (files_upload_v2 or legacy files.upload)."""

    id: str
    filename: str
    user: str
    created: int
    title: str | None = None
    content: bytes = b""
    length: int | None = None  # as declared to files.getUploadURLExternal
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None
    uploaded: bool = False  # the bytes arrived
    completed: bool = False  # files.completeUploadExternal (or files.upload) finished it

    @property
    def channel(self) -> str | None:
        """Return the first channel the file was shared to, if any."""
        return self.channels[0] if self.channels else None

    def to_api(self, origin: str) -> dict[str, Any]:
        """Return the ``file`` object of files.info / files.completeUploadExternal."""
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.filename,
            "title": self.title if self.title is not None else self.filename,
            "mimetype": _mimetype(self.filename),
            "filetype": self.filename.rsplit(".", 1)[-1] if "." in self.filename else "text",
            "user": self.user,
            "size": len(self.content),
            "mode": "hosted",
            "is_external": False,
            "is_public": bool(self.channels),
            "url_private": f"{origin}/files/{self.id}/{self.filename}",
            "url_private_download": f"{origin}/files/{self.id}/{self.filename}",
            "permalink": f"{origin}/files/{self.id}/{self.filename}",
            "channels": [c for c in self.channels if c.startswith("C")],
            "groups": [c for c in self.channels if c.startswith("G")],
            "ims": [c for c in self.channels if c.startswith("D")],
            "initial_comment": self.initial_comment,
        }


def _mimetype(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
