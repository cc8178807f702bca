"""The fake workspace: its state and the Slack Web API methods that read and change it.

Nothing here knows about HTTP. Every public method takes the workspace lock, so the HTTP server,
the test suite and (later) the browser sandbox can share one instance across threads. Views
return deep copies: a caller can never observe a half-applied change or mutate the state.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.devtools.fakeslack.models import (
    Channel,
    Ephemeral,
    Message,
    SlackError,
    UploadedFile,
    User,
)

MethodHandler = Callable[[dict[str, Any], str], dict[str, Any]]
"""A Slack method: (params, acting user id) -> the JSON body without ``ok``; raises SlackError."""

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_MAX_TEXT = 40_000
_MAX_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
_MAX_TITLE = 24
_RESPONSE_URL_USES = 5
_RESPONSE_URL_TTL = 30 * 60.0
_TRIGGER_TTL = 3.0


@dataclass
class ResponseUrl:
    """A response_url handed to the bot in an interaction or slash command."""

    id: str
    user: str | None
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    expires_at: float  # time.monotonic()
    max_uses: int = _RESPONSE_URL_USES
    uses: int = 0


@dataclass
class _Trigger:
    user: str | None
    expires_at: float  # time.monotonic()
    used: bool = False


@dataclass
class _View:
    view: dict[str, Any]
    source: str  # "open" | "push" | "publish"
    user: str | None
    order: int
    history: list[dict[str, Any]] = field(default_factory=list)


def as_bool(value: Any) -> bool:
    """Interpret a Slack boolean argument (``true``, ``1``, True ...)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def as_json(value: Any, error: str) -> Any:
    """Decode an argument that Slack accepts either as JSON text or as structured JSON."""
    if value is None or isinstance(value, (list, dict)):
        return value
    try:
        return json.loads(str(value))
    except ValueError:
        raise SlackError(error) from None


def as_list(value: Any) -> list[str]:
    """Split a comma-separated argument (or accept a list)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _opt_str(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    return str(value)


def _require(params: dict[str, Any], key: str, error: str) -> str:
    value = _opt_str(params, key)
    if value is None:
        raise SlackError(error)
    return value


class Workspace:
    """A Slack workspace in memory, with the bot installed in it."""

    def __init__(
        self,
        *,
        team_id: str = "T0KMBOT",
        bot_user_id: str = "UKMBOT",
        team_name: str = "KM Change Network",
        auto_channels: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = "A" + bot_user_id[1:]
        self.auto_channels = auto_channels
        self.origin = "http://127.0.0.1"  # the server sets the real one when it starts
        self._clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified on every change and call
        self.version = 0
        self._last_ts_us = 0
        self._serial = 0
        self._users: dict[str, User] = {}
        self._channels: dict[str, Channel] = {}
        self._dm_of_user: dict[str, str] = {}
        self._mpims: dict[tuple[str, ...], str] = {}
        self._messages: dict[str, dict[str, Message]] = {}  # channel -> ts -> message
        self._ephemerals: list[Ephemeral] = []
        self._views: dict[str, _View] = {}
        self._home: dict[str, str] = {}  # user -> view id
        self._modals: dict[str, list[str]] = {}  # user -> the view ids of their open modal stack
        self._files: dict[str, UploadedFile] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._triggers: dict[str, _Trigger] = {}
        self.methods: dict[str, MethodHandler] = {
            "api.test": self.api_test,
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "conversations.open": self.conversations_open,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.info": self.conversations_info,
            "conversations.list": self.conversations_list,
            "conversations.join": self.conversations_join,
            "users.info": self.users_info,
            "users.profile.get": self.users_profile_get,
            "users.lookupByEmail": self.users_lookup_by_email,
            "views.open": self.views_open,
            "views.update": self.views_update,
            "views.push": self.views_push,
            "views.publish": self.views_publish,
            "reactions.add": self.reactions_add,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
            "files.upload": self.files_upload,
            "files.info": self.files_info,
        }
        self.add_user(bot_user_id, name="kmbot", real_name="kmbot", is_bot=True)

    # ----------------------------------------------------------------- set-up
    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        email: str | None = None,
        real_name: str | None = None,
        team_id: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
    ) -> None:
        """Add (or replace) a member of the workspace."""
        with self.lock:
            self._users[user_id] = User(
                id=user_id,
                name=name,
                email=email,
                real_name=real_name,
                team_id=team_id or self.team_id,
                is_admin=is_admin,
                is_bot=is_bot,
            )
            self._touch()

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, is_member: bool = True
    ) -> None:
        """Add a channel; with ``is_member=False`` the bot must join before it may post."""
        with self.lock:
            self._channels[channel_id] = Channel(
                id=channel_id,
                name=name.lstrip("#"),
                created=int(self._clock()),
                is_private=is_private,
                is_member=is_member,
            )
            self._messages.setdefault(channel_id, {})
            self._touch()

    def new_response_url_id(
        self,
        *,
        user: str | None,
        channel: str | None,
        message_ts: str | None,
        thread_ts: str | None,
        max_uses: int = _RESPONSE_URL_USES,
        ttl: float = _RESPONSE_URL_TTL,
    ) -> str:
        """Register a response_url and return its id."""
        with self.lock:
            url_id = self._new_id("R")
            self._response_urls[url_id] = ResponseUrl(
                id=url_id,
                user=user,
                channel=self._resolve(channel, create=True).id if channel else None,
                message_ts=message_ts,
                thread_ts=thread_ts,
                expires_at=time.monotonic() + ttl,
                max_uses=max_uses,
            )
            return url_id

    def new_trigger_id(self, *, user: str | None = None, ttl: float = _TRIGGER_TTL) -> str:
        """Issue a trigger_id that expires after ``ttl`` seconds and may be used once."""
        with self.lock:
            self._serial += 1
            digest = hashlib.sha1(str(self._serial).encode()).hexdigest()[:16]
            trigger = f"{self._serial}.{self.team_id}.{digest}"
            self._triggers[trigger] = _Trigger(user=user, expires_at=time.monotonic() + ttl)
            return trigger

    def clear_content(self) -> None:
        """Forget messages, ephemerals, views, files and response URLs; keep users and channels."""
        with self.lock:
            for channel_messages in self._messages.values():
                channel_messages.clear()
            self._ephemerals.clear()
            self._views.clear()
            self._home.clear()
            self._modals.clear()
            self._files.clear()
            self._response_urls.clear()
            self._triggers.clear()
            self._touch()

    # ------------------------------------------------------------------ views
    def users(self) -> list[User]:
        """Return the members of the workspace."""
        with self.lock:
            return [copy.deepcopy(u) for u in self._users.values()]

    def channels(self) -> list[Channel]:
        """Return every conversation (channels, DMs, group DMs)."""
        with self.lock:
            return [copy.deepcopy(c) for c in self._channels.values()]

    def messages(self, channel: str) -> list[Message]:
        """Return the top-level messages of a channel (and broadcast replies), oldest first."""
        with self.lock:
            found = self._lookup(channel)
            if found is None:
                return []
            return [copy.deepcopy(m) for m in self._top_level(found.id)]

    def all_messages(self, channel: str) -> list[Message]:
        """Return every message of a channel, replies and deleted ones included, oldest first."""
        with self.lock:
            found = self._lookup(channel)
            if found is None:
                return []
            return [copy.deepcopy(m) for m in self._sorted(found.id)]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Return the replies in a thread (not the parent), oldest first, excluding deleted."""
        with self.lock:
            found = self._lookup(channel)
            if found is None:
                return []
            return [copy.deepcopy(m) for m in self._replies(found.id, thread_ts)]

    def message(self, channel: str, ts: str) -> Message | None:
        """Return one message (even a deleted one), or None."""
        with self.lock:
            found = self._lookup(channel)
            if found is None:
                return None
            msg = self._messages.get(found.id, {}).get(ts)
            return copy.deepcopy(msg) if msg else None

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        """Return ephemeral messages (optionally one user's), oldest first, excluding deleted."""
        with self.lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if not e.deleted and (user is None or e.user == user)
            ]

    def dm_channel(self, user: str) -> str | None:
        """Return the id of the DM channel opened with a user, if any."""
        with self.lock:
            return self._dm_of_user.get(user)

    def dms(self, user: str) -> list[Message]:
        """Return the top-level messages in the bot's DM with a user, oldest first."""
        with self.lock:
            dm = self._dm_of_user.get(user)
            return [] if dm is None else [copy.deepcopy(m) for m in self._top_level(dm)]

    def views_opened(self) -> list[dict[str, Any]]:
        """Return the current state of every modal opened or pushed, in the order opened."""
        with self.lock:
            opened = [v for v in self._views.values() if v.source in ("open", "push")]
            return [copy.deepcopy(v.view) for v in sorted(opened, key=lambda v: v.order)]

    def view(self, view_id: str) -> dict[str, Any] | None:
        """Return the current state of one view, or None."""
        with self.lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found.view) if found else None

    def home_view(self, user: str) -> dict[str, Any] | None:
        """Return the App Home view last published for a user, or None."""
        with self.lock:
            view_id = self._home.get(user)
            return copy.deepcopy(self._views[view_id].view) if view_id else None

    def modal(self, user: str) -> dict[str, Any] | None:
        """Return the modal a user sees now (the top of their stack), or None."""
        with self.lock:
            stack = self._modals.get(user) or []
            return copy.deepcopy(self._views[stack[-1]].view) if stack else None

    def modal_stack(self, user: str) -> list[dict[str, Any]]:
        """Return a user's open modals, bottom first."""
        with self.lock:
            return [copy.deepcopy(self._views[v].view) for v in self._modals.get(user) or []]

    def close_modal(self, user: str, *, everything: bool = False) -> None:
        """Close the user's top modal (all of them with ``everything``), as Cancel or submit do."""
        with self.lock:
            stack = self._modals.get(user) or []
            if everything:
                stack.clear()
            elif stack:
                stack.pop()
            self._touch()

    def answer_submission(self, user: str, view_id: str, answer: dict[str, Any]) -> None:
        """Apply the bot's answer to a view_submission (``response_action`` or none).

        Raises SlackError("invalid_arguments") when the view in an update or push is invalid,
        as Slack would reject it.
        """
        with self.lock:
            action = answer.get("response_action")
            stack = self._modals.setdefault(user, [])
            if action == "update":
                found = self._views.get(view_id)
                if found is None:
                    raise SlackError("not_found")
                new = self._validate_view(answer.get("view"), "modal")
                found.history.append(found.view)
                found.view = self._render_view(new, view_id, previous=found.view)
            elif action == "push":
                view = self._new_view(answer.get("view"), "modal", "push", user)
                stack.append(view["id"])
            elif action == "clear":
                stack.clear()
            elif action != "errors" and view_id in stack:
                del stack[stack.index(view_id) :]
            self._touch()

    def wait_changed(self, since: int, timeout: float) -> int:
        """Wait until the workspace changes after version ``since`` (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.version <= since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return self.version

    def files(self) -> list[UploadedFile]:
        """Return the files whose upload was completed, in upload order."""
        with self.lock:
            return [copy.deepcopy(f) for f in self._files.values() if f.completed]

    def file_content(self, file_id: str) -> UploadedFile | None:
        """Return one file, completed or not."""
        with self.lock:
            found = self._files.get(file_id)
            return copy.deepcopy(found) if found else None

    # ------------------------------------------------------------ Slack API
    def call(self, method: str, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """Run a Slack method; return its JSON body (``ok`` included), never raising SlackError."""
        handler = self.methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        with self.lock:
            try:
                body = handler(params, actor)
            except SlackError as exc:
                return exc.body()
            self._touch()
            return {"ok": True, **body}

    def api_test(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """api.test: echo the arguments."""
        return {"args": {k: v for k, v in params.items() if k != "token"}}

    def auth_test(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """auth.test: who the token belongs to."""
        return {
            "url": f"{self.origin}/",
            "team": self.team_name,
            "user": self._users[actor].name if actor in self._users else actor,
            "team_id": self.team_id,
            "user_id": actor,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """chat.postMessage to a channel id or name, a DM id, or a user id (their DM)."""
        channel = self._resolve(params.get("channel"), create=True)
        if not channel.is_member and not channel.is_im:
            raise SlackError("not_in_channel")
        text, blocks, attachments = self._content(params, required=True)
        metadata = self._metadata(params.get("metadata"))
        thread_ts = _opt_str(params, "thread_ts")
        if thread_ts is not None:
            parent = self._messages[channel.id].get(thread_ts)
            if parent is None or parent.deleted:
                # Real Slack quietly accepts a dangling thread_ts; being strict here catches
                # bots that reply to cards they never posted.
                raise SlackError("thread_not_found")
            thread_ts = parent.thread_ts or parent.ts
        known = {"channel", "text", "blocks", "attachments", "metadata", "thread_ts", "token"}
        msg = Message(
            channel=channel.id,
            ts=self._next_ts(),
            user=actor,
            text=text,
            thread_ts=thread_ts,
            blocks=blocks,
            attachments=attachments,
            metadata=metadata,
            broadcast=thread_ts is not None and as_bool(params.get("reply_broadcast")),
            extra={k: v for k, v in params.items() if k not in known},
        )
        self._store(msg)
        return {"channel": channel.id, "ts": msg.ts, "message": self._api(msg)}

    def chat_post_ephemeral(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """chat.postEphemeral: a message only ``user`` sees."""
        channel = self._resolve(params.get("channel"), create=True)
        user = _require(params, "user", "user_not_in_channel")
        text, blocks, _ = self._content(params, required=True)
        ephemeral = Ephemeral(
            channel=channel.id,
            user=user,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            thread_ts=_opt_str(params, "thread_ts"),
        )
        self._ephemerals.append(ephemeral)
        return {"message_ts": ephemeral.ts}

    def chat_update(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """chat.update: change the text, blocks or metadata of a message."""
        channel = self._resolve(params.get("channel"))
        msg = self._find(channel.id, _require(params, "ts", "message_not_found"))
        if msg.user != actor:
            raise SlackError("cant_update_message")
        text, blocks, attachments = self._content(params, required=True)
        if "text" in params:
            msg.text = text
        if "blocks" in params:
            msg.blocks = blocks
        if "attachments" in params:
            msg.attachments = attachments
        if params.get("metadata") is not None:
            msg.metadata = self._metadata(params.get("metadata"))
        msg.edited = True
        return {"channel": channel.id, "ts": msg.ts, "text": msg.text, "message": self._api(msg)}

    def chat_delete(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """chat.delete: remove a message (kept as deleted, so tests can still see it)."""
        channel = self._resolve(params.get("channel"))
        msg = self._find(channel.id, _require(params, "ts", "message_not_found"))
        if msg.user != actor:
            raise SlackError("cant_delete_message")
        self._delete(msg)
        return {"channel": channel.id, "ts": msg.ts}

    def chat_get_permalink(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """chat.getPermalink: a link to a message."""
        channel = self._resolve(params.get("channel"))
        msg = self._find(channel.id, _require(params, "message_ts", "message_not_found"))
        link = f"{self.origin}/archives/{channel.id}/p{msg.ts.replace('.', '')}"
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    def conversations_open(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """conversations.open: a stable DM (or group DM) with the given users."""
        if params.get("channel"):
            channel = self._resolve(params.get("channel"))
            return {"no_op": True, "already_open": True, "channel": {"id": channel.id}}
        users = [u for u in as_list(params.get("users")) if u != actor]
        if not users:
            raise SlackError("users_list_not_supplied")
        for user in users:
            if not _USER_ID.match(user) or (user not in self._users and not self.auto_channels):
                raise SlackError("user_not_found")
        if len(users) == 1:
            already = users[0] in self._dm_of_user
            channel = self._dm(users[0])
        else:
            key = tuple(sorted(users))
            already = key in self._mpims
            channel = self._mpim(key)
        body: dict[str, Any] = {"no_op": already, "already_open": already}
        if as_bool(params.get("return_im")):
            body["channel"] = channel.to_api()
        else:
            body["channel"] = {"id": channel.id}
        return body

    def conversations_history(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """conversations.history: top-level messages, newest first, paginated by cursor."""
        channel = self._resolve(params.get("channel"))
        msgs = self._window(self._top_level(channel.id), params)
        msgs.reverse()
        return self._page(msgs, params, as_bool(params.get("include_all_metadata")))

    def conversations_replies(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """conversations.replies: the parent then its replies, oldest first."""
        channel = self._resolve(params.get("channel"))
        ts = _require(params, "ts", "thread_not_found")
        msg = self._messages[channel.id].get(ts)
        if msg is None:
            raise SlackError("thread_not_found")
        parent = self._messages[channel.id].get(msg.thread_ts or msg.ts, msg)
        replies = self._window(self._replies(channel.id, parent.ts), params)
        return self._page([parent, *replies], params, as_bool(params.get("include_all_metadata")))

    def conversations_info(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """conversations.info: one conversation."""
        return {"channel": self._resolve(params.get("channel")).to_api()}

    def conversations_list(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """conversations.list: channels by ``types`` (default public), paginated by cursor."""
        types = set(as_list(params.get("types")) or ["public_channel"])
        unknown = types - {"public_channel", "private_channel", "mpim", "im"}
        if unknown:
            raise SlackError("invalid_types")

        def kind(c: Channel) -> str:
            if c.is_im:
                return "im"
            if c.is_mpim:
                return "mpim"
            return "private_channel" if c.is_private else "public_channel"

        # exclude_archived is accepted and has nothing to do: the fake has no archived channels.
        found = sorted(
            (c for c in self._channels.values() if kind(c) in types),
            key=lambda c: (c.created, c.id),
        )
        try:
            limit = int(str(params.get("limit") or 100))
            start = int(str(params.get("cursor") or "0"))
        except ValueError:
            raise SlackError("invalid_cursor") from None
        limit = max(1, min(limit, 1000))
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "channels": [c.to_api() for c in page],
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def conversations_join(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """conversations.join: the bot joins a public channel."""
        channel = self._resolve(params.get("channel"))
        if channel.is_im or channel.is_mpim:
            raise SlackError("method_not_supported_for_channel_type")
        if channel.is_private and not channel.is_member:
            raise SlackError("channel_not_found")
        already = channel.is_member
        channel.is_member = True
        body: dict[str, Any] = {"channel": channel.to_api()}
        if already:
            body["warning"] = "already_in_channel"
        return body

    def users_info(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """users.info: one member."""
        user = self._users.get(_require(params, "user", "user_not_found"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.to_api()}

    def users_profile_get(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """users.profile.get: a member's profile (the caller's when ``user`` is absent)."""
        user = self._users.get(_opt_str(params, "user") or actor)
        if user is None:
            raise SlackError("user_not_found")
        return {"profile": user.profile()}

    def users_lookup_by_email(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """users.lookupByEmail: find a member by email address (case-insensitive)."""
        email = _require(params, "email", "invalid_email").lower()
        for user in self._users.values():
            if user.email is not None and user.email.lower() == email:
                return {"user": user.to_api()}
        raise SlackError("users_not_found")

    def views_open(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """views.open: open a modal; needs a fresh trigger_id."""
        user = self._use_trigger(params.get("trigger_id"))
        view = self._new_view(params.get("view"), "modal", "open", user)
        if user is not None:
            self._modals[user] = [view["id"]]  # a new modal replaces whatever was open
        return {"view": copy.deepcopy(view)}

    def views_push(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """views.push: push a modal onto the stack; needs a fresh trigger_id."""
        user = self._use_trigger(params.get("trigger_id"))
        view = self._new_view(params.get("view"), "modal", "push", user)
        if user is not None:
            self._modals.setdefault(user, []).append(view["id"])
        return {"view": copy.deepcopy(view)}

    def views_update(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """views.update: replace a view, found by view_id or external_id; honours ``hash``."""
        view_id = _opt_str(params, "view_id")
        external_id = _opt_str(params, "external_id")
        if view_id is None and external_id is None:
            raise SlackError("invalid_arguments")
        found = self._views.get(view_id) if view_id else None
        if found is None and external_id:
            found = next(
                (v for v in self._views.values() if v.view.get("external_id") == external_id),
                None,
            )
        if found is None:
            raise SlackError("not_found")
        expected = _opt_str(params, "hash")
        if expected is not None and expected != found.view["hash"]:
            raise SlackError("hash_conflict")
        new = self._validate_view(params.get("view"), str(found.view["type"]))
        found.history.append(found.view)
        found.view = self._render_view(new, found.view["id"], previous=found.view)
        return {"view": copy.deepcopy(found.view)}

    def views_publish(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """views.publish: set a member's App Home."""
        user = _require(params, "user_id", "invalid_arguments")
        if user not in self._users and not self.auto_channels:
            raise SlackError("user_not_found")
        existing_id = self._home.get(user)
        expected = _opt_str(params, "hash")
        if (
            existing_id
            and expected is not None
            and expected != self._views[existing_id].view["hash"]
        ):
            raise SlackError("hash_conflict")
        new = self._validate_view(params.get("view"), "home")
        if existing_id:
            found = self._views[existing_id]
            found.history.append(found.view)
            found.view = self._render_view(new, existing_id, previous=found.view)
            return {"view": copy.deepcopy(found.view)}
        view = self._new_view(new, "home", "publish", user)
        self._home[user] = view["id"]
        return {"view": copy.deepcopy(view)}

    def reactions_add(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """reactions.add: add an emoji reaction to a message."""
        channel = self._resolve(params.get("channel"))
        msg = self._find(channel.id, _require(params, "timestamp", "no_item_specified"))
        name = _require(params, "name", "invalid_name").strip(":")
        users = msg.reactions.setdefault(name, [])
        if actor in users:
            raise SlackError("already_reacted")
        users.append(actor)
        return {}

    def files_get_upload_url_external(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """files.getUploadURLExternal: step one of files_upload_v2."""
        filename = _require(params, "filename", "invalid_arguments")
        try:
            length = int(str(params.get("length")))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if length < 0:
            raise SlackError("invalid_arguments")
        file = UploadedFile(
            id=self._new_id("F"),
            filename=filename,
            user=actor,
            created=int(self._clock()),
            length=length,
            alt_txt=_opt_str(params, "alt_txt"),
            snippet_type=_opt_str(params, "snippet_type"),
        )
        self._files[file.id] = file
        return {"upload_url": f"{self.origin}/upload/{file.id}", "file_id": file.id}

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        """Store the bytes POSTed to an upload_url (step two); False if the id is unknown."""
        with self.lock:
            file = self._files.get(file_id)
            if file is None or file.completed:
                return False
            file.content = content
            file.uploaded = True
            self._touch()
            return True

    def files_complete_upload_external(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """files.completeUploadExternal: step three of files_upload_v2; shares the files."""
        entries = as_json(params.get("files"), "invalid_arguments")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        found: list[tuple[UploadedFile, dict[str, Any]]] = []
        for entry in entries:
            if not isinstance(entry, dict) or "id" not in entry:
                raise SlackError("invalid_arguments")
            file = self._files.get(str(entry["id"]))
            if file is None or not file.uploaded or file.completed:
                raise SlackError("file_not_found")
            found.append((file, entry))
        targets = as_list(params.get("channels")) or as_list(params.get("channel_id"))
        channels = [self._resolve(c, create=True) for c in targets]
        thread_ts = _opt_str(params, "thread_ts")
        comment = _opt_str(params, "initial_comment")
        for file, entry in found:
            if entry.get("title"):
                file.title = str(entry["title"])
        self._share([f for f, _ in found], channels, comment, thread_ts, actor)
        return {"files": [f.to_api(self.origin) for f, _ in found]}

    def files_upload(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """files.upload (legacy, retired by Slack in 2025): upload and share in one call."""
        content = params.get("file", params.get("content"))
        if content is None:
            raise SlackError("no_file_data")
        data = content if isinstance(content, bytes) else str(content).encode("utf-8")
        filename = _opt_str(params, "filename") or _opt_str(params, "_filename") or "file"
        file = UploadedFile(
            id=self._new_id("F"),
            filename=filename,
            user=actor,
            created=int(self._clock()),
            title=_opt_str(params, "title"),
            content=data,
            length=len(data),
            uploaded=True,
        )
        self._files[file.id] = file
        channels = [self._resolve(c, create=True) for c in as_list(params.get("channels"))]
        self._share(
            [file],
            channels,
            _opt_str(params, "initial_comment"),
            _opt_str(params, "thread_ts"),
            actor,
        )
        return {"file": file.to_api(self.origin)}

    def files_info(self, params: dict[str, Any], actor: str) -> dict[str, Any]:
        """files.info: one file."""
        file = self._files.get(_require(params, "file", "file_not_found"))
        if file is None:
            raise SlackError("file_not_found")
        return {"file": file.to_api(self.origin)}

    def respond(self, url_id: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Apply a POST to a response_url as Slack does; return (HTTP status, JSON body)."""
        with self.lock:
            url = self._response_urls.get(url_id)
            if url is None:
                return 404, {"ok": False, "error": "no_service"}
            if time.monotonic() > url.expires_at:
                return 404, {"ok": False, "error": "expired_url"}
            if url.uses >= url.max_uses:
                return 404, {"ok": False, "error": "used_url"}
            try:
                self._respond(url, payload)
            except SlackError as exc:
                return 404 if exc.error == "message_not_found" else 400, exc.body()
            url.uses += 1
            self._touch()
            return 200, {"ok": True}

    # ------------------------------------------------------------ internals
    def _respond(self, url: ResponseUrl, payload: dict[str, Any]) -> None:
        if as_bool(payload.get("delete_original")):
            self._delete_original(url)
            return
        text, blocks, attachments = self._content(payload, required=True)
        if as_bool(payload.get("replace_original")) and url.message_ts is not None:
            original = self._messages.get(url.channel or "", {}).get(url.message_ts)
            if original is not None and not original.deleted:
                original.text, original.blocks = text, blocks
                original.attachments = attachments
                original.edited = True
                return
            ephemeral = self._ephemeral_at(url)
            if ephemeral is None:
                raise SlackError("message_not_found")
            ephemeral.text, ephemeral.blocks, ephemeral.replaced = text, blocks, True
            return
        thread_ts = _opt_str(payload, "thread_ts") or url.thread_ts
        if payload.get("response_type") == "in_channel":
            if url.channel is None:
                raise SlackError("channel_not_found")
            msg = Message(
                channel=url.channel,
                ts=self._next_ts(),
                user=self.bot_user_id,
                text=text,
                thread_ts=thread_ts if thread_ts in self._messages[url.channel] else None,
                blocks=blocks,
                attachments=attachments,
            )
            self._store(msg)
            return
        self._ephemerals.append(
            Ephemeral(
                channel=url.channel,
                user=url.user,
                ts=self._next_ts(),
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                source="response_url",
            )
        )

    def _delete_original(self, url: ResponseUrl) -> None:
        if url.message_ts is None:
            raise SlackError("message_not_found")
        original = self._messages.get(url.channel or "", {}).get(url.message_ts)
        if original is not None and not original.deleted:
            self._delete(original)
            return
        ephemeral = self._ephemeral_at(url)
        if ephemeral is None:
            raise SlackError("message_not_found")
        ephemeral.deleted = True

    def _ephemeral_at(self, url: ResponseUrl) -> Ephemeral | None:
        for ephemeral in self._ephemerals:
            if ephemeral.ts == url.message_ts and not ephemeral.deleted:
                return ephemeral
        return None

    def _touch(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def _new_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}0{self._serial:08X}"

    def _next_ts(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _lookup(self, value: str | None) -> Channel | None:
        """Find a conversation by id, name, ``#name`` or user id (their DM); never creates."""
        if not value:
            return None
        if value in self._channels:
            return self._channels[value]
        if value in self._dm_of_user:
            return self._channels[self._dm_of_user[value]]
        name = value.lstrip("#")
        return next((c for c in self._channels.values() if c.name == name and not c.is_im), None)

    def _resolve(self, value: Any, *, create: bool = False) -> Channel:
        """Find a conversation or raise channel_not_found; may create it (auto_channels)."""
        channel_ref = None if value is None else str(value)
        found = self._lookup(channel_ref)
        if found is not None:
            return found
        if channel_ref is None or not create or not self.auto_channels:
            raise SlackError("channel_not_found")
        if _USER_ID.match(channel_ref):
            return self._dm(channel_ref)
        if _CHANNEL_ID.match(channel_ref):
            if channel_ref.startswith("D"):
                raise SlackError("channel_not_found")
            self.add_channel(channel_ref, channel_ref.lower(), is_private=channel_ref[0] == "G")
            return self._channels[channel_ref]
        if not re.match(r"^#?[a-z0-9][a-z0-9_-]{0,79}$", channel_ref):
            raise SlackError("channel_not_found")
        channel_id = self._new_id("C")
        self.add_channel(channel_id, channel_ref.lstrip("#"))
        return self._channels[channel_id]

    def _dm(self, user: str) -> Channel:
        existing = self._dm_of_user.get(user)
        if existing is not None:
            return self._channels[existing]
        channel_id = "D" + user[1:]
        if channel_id in self._channels:
            channel_id = self._new_id("D")
        self._channels[channel_id] = Channel(
            id=channel_id,
            name=user,
            created=int(self._clock()),
            is_im=True,
            user=user,
            members=[self.bot_user_id, user],
        )
        self._messages[channel_id] = {}
        self._dm_of_user[user] = channel_id
        return self._channels[channel_id]

    def _mpim(self, users: tuple[str, ...]) -> Channel:
        existing = self._mpims.get(users)
        if existing is not None:
            return self._channels[existing]
        channel_id = self._new_id("G")
        self._channels[channel_id] = Channel(
            id=channel_id,
            name="mpdm-" + "--".join(users),
            created=int(self._clock()),
            is_mpim=True,
            members=[self.bot_user_id, *users],
        )
        self._messages[channel_id] = {}
        self._mpims[users] = channel_id
        return self._channels[channel_id]

    def _content(
        self, params: dict[str, Any], *, required: bool
    ) -> tuple[str, list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        text = "" if params.get("text") is None else str(params.get("text"))
        blocks = as_json(params.get("blocks"), "invalid_blocks_format")
        attachments = as_json(params.get("attachments"), "invalid_attachments")
        if blocks is not None:
            if not isinstance(blocks, list) or len(blocks) > _MAX_BLOCKS:
                raise SlackError("invalid_blocks")
            if not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
                raise SlackError("invalid_blocks")
        if attachments is not None and not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if required and not text and not blocks and not attachments:
            raise SlackError("no_text")
        if len(text) > _MAX_TEXT:
            raise SlackError("msg_too_long")
        return text, blocks, attachments

    def _metadata(self, value: Any) -> dict[str, Any] | None:
        metadata = as_json(value, "invalid_metadata_format")
        if metadata is None:
            return None
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("event_type"), str)
            or not isinstance(metadata.get("event_payload", {}), dict)
        ):
            raise SlackError("invalid_metadata_format")
        return metadata

    def _store(self, msg: Message) -> None:
        self._messages.setdefault(msg.channel, {})[msg.ts] = msg
        if msg.thread_ts is not None:
            parent = self._messages[msg.channel][msg.thread_ts]
            parent.reply_count += 1
            parent.latest_reply = msg.ts
            if msg.user not in parent.reply_users:
                parent.reply_users.append(msg.user)

    def _delete(self, msg: Message) -> None:
        msg.deleted = True
        if msg.is_reply and msg.thread_ts is not None:
            parent = self._messages[msg.channel].get(msg.thread_ts)
            if parent is not None:
                parent.reply_count = max(0, parent.reply_count - 1)

    def _find(self, channel_id: str, ts: str) -> Message:
        msg = self._messages.get(channel_id, {}).get(ts)
        if msg is None or msg.deleted:
            raise SlackError("message_not_found")
        return msg

    def _sorted(self, channel_id: str) -> list[Message]:
        msgs = self._messages.get(channel_id, {}).values()
        return sorted(msgs, key=lambda m: _ts_key(m.ts))

    def _top_level(self, channel_id: str) -> list[Message]:
        return [
            m for m in self._sorted(channel_id) if not m.deleted and (not m.is_reply or m.broadcast)
        ]

    def _replies(self, channel_id: str, thread_ts: str) -> list[Message]:
        return [
            m
            for m in self._sorted(channel_id)
            if not m.deleted and m.is_reply and m.thread_ts == thread_ts
        ]

    def _window(self, msgs: list[Message], params: dict[str, Any]) -> list[Message]:
        inclusive = as_bool(params.get("inclusive"))
        oldest = _opt_str(params, "oldest")
        latest = _opt_str(params, "latest")

        def keep(m: Message) -> bool:
            key = _ts_key(m.ts)
            if oldest is not None:
                low = _ts_key(oldest)
                if key < low or (key == low and not inclusive):
                    return False
            if latest is not None:
                high = _ts_key(latest)
                if key > high or (key == high and not inclusive):
                    return False
            return True

        return [m for m in msgs if keep(m)]

    def _page(
        self, msgs: list[Message], params: dict[str, Any], include_metadata: bool
    ) -> dict[str, Any]:
        try:
            limit = int(str(params.get("limit") or 100))
            start = int(str(params.get("cursor") or "0"))
        except ValueError:
            raise SlackError("invalid_cursor") from None
        limit = max(1, min(limit, 999))
        page = msgs[start : start + limit]
        more = start + limit < len(msgs)
        return {
            "messages": [self._api(m, include_metadata=include_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _api(self, msg: Message, *, include_metadata: bool = True) -> dict[str, Any]:
        return msg.to_api(
            team_id=self.team_id, bot_id=self.bot_id, include_metadata=include_metadata
        )

    def _use_trigger(self, trigger_id: Any) -> str | None:
        if not trigger_id:
            raise SlackError("invalid_arguments")
        trigger = self._triggers.get(str(trigger_id))
        if trigger is None:
            return None  # a trigger_id made up by a test: accepted
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() > trigger.expires_at:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger.user

    def _validate_view(self, value: Any, expected_type: str) -> dict[str, Any]:
        view = as_json(value, "invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != expected_type:
            raise SlackError("invalid_arguments")
        blocks = view.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > _MAX_VIEW_BLOCKS:
            raise SlackError("invalid_arguments")
        if expected_type == "modal":
            title = view.get("title")
            if not isinstance(title, dict) or not title.get("text"):
                raise _view_error("title is required", "/view/title")
            if len(str(title["text"])) > _MAX_TITLE:
                raise _view_error("must be less than 25 characters", "/view/title/text")
            for key in ("submit", "close"):
                button = view.get(key)
                if isinstance(button, dict) and len(str(button.get("text", ""))) > _MAX_TITLE:
                    raise _view_error("must be less than 25 characters", f"/view/{key}/text")
        return view

    def _new_view(
        self, value: Any, expected_type: str, source: str, user: str | None
    ) -> dict[str, Any]:
        spec = self._validate_view(value, expected_type)
        view_id = self._new_id("V")
        view = self._render_view(spec, view_id, previous=None)
        self._views[view_id] = _View(view=view, source=source, user=user, order=self._serial)
        return view

    def _render_view(
        self, spec: dict[str, Any], view_id: str, *, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        self._serial += 1
        view: dict[str, Any] = {
            "id": view_id,
            "team_id": self.team_id,
            "type": spec["type"],
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": previous["root_view_id"] if previous else view_id,
            "previous_view_id": None,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        view.update(copy.deepcopy(spec))
        view["id"] = view_id
        digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
        view["hash"] = f"{self._serial}.{digest}"
        return view

    def _share(
        self,
        files: list[UploadedFile],
        channels: Iterable[Channel],
        comment: str | None,
        thread_ts: str | None,
        actor: str,
    ) -> None:
        """Complete the files and post one file-share message per channel, as Slack does."""
        for file in files:
            file.completed = True
            file.initial_comment = comment
            file.thread_ts = thread_ts
        for channel in channels:
            for file in files:
                if channel.id not in file.channels:
                    file.channels.append(channel.id)
            parent_ts = None
            if thread_ts is not None:
                parent = self._find(channel.id, thread_ts)
                parent_ts = parent.thread_ts or parent.ts
            self._store(
                Message(
                    channel=channel.id,
                    ts=self._next_ts(),
                    user=actor,
                    text=comment or "",
                    thread_ts=parent_ts,
                    files=[f.id for f in files],
                )
            )


def _view_error(message: str, pointer: str) -> SlackError:
    return SlackError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {message} [json-pointer:{pointer}]"]},
    )


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    try:
        return int(seconds), int((micros or "0").ljust(6, "0")[:6])
    except ValueError:
        return 0, 0
