"""The outbox's Slack calls: posting and updating, resolving channels, finding what was sent.

Every message the outbox posts carries its outbox id in Slack's message metadata, so after an
attempt whose outcome is unknown the message can be looked for before it is posted again.
"""

from __future__ import annotations

import copy
import http.client
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    HttpResponse,
    RateLimitErrorRetryHandler,
    RetryState,
)
from slack_sdk.webhook import WebhookClient

METADATA_EVENT = "kmbot_outbox"
# The outbox "method" for a reply on a slash command's response URL (not a Web API method).
RESPOND = "response_url"
_CHANNEL_ID = re.compile(r"^[CGDU][A-Z0-9]{2,}$")
_MAX_LOOKUP_PAGES = 50  # 10,000 messages since the first attempt: enough for any channel


def make_client(token: str, base_url: str, *, timeout: int = 10, retries: bool = True) -> WebClient:
    """A Web API client; with ``retries`` (for listeners' own calls) it retries a dropped
    connection and a 429 (after its Retry-After) itself. The outbox's client must not
    (``retries=False``): a blind retry of chat.postMessage could post twice."""
    handlers = [_RepeatableCallRetryHandler(), RateLimitErrorRetryHandler()] if retries else []
    return WebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


# Calls that change nothing, or the same thing however often they are made: after a dropped
# connection these are simply made again. Any other call (an ephemeral reply, a file upload)
# may have landed before the connection dropped, so it is not repeated blindly.
REPEATABLE_METHODS = frozenset(
    {
        "auth.test",
        "conversations.history",
        "conversations.info",
        "conversations.list",
        "conversations.members",
        "conversations.replies",
        "team.info",
        "users.info",
        "users.list",
        "users.lookupByEmail",
        "views.publish",
    }
)


class _RepeatableCallRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error retries, for repeatable calls only (``REPEATABLE_METHODS``)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
        if method not in REPEATABLE_METHODS:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def without_retries(client: WebClient) -> WebClient:
    """The same client minus its retry handlers: the outbox looks before it sends again."""
    if not client.retry_handlers:
        return client
    bare = copy.copy(client)
    bare.retry_handlers = []
    return bare


def call_finished(exc: BaseException) -> bool:
    """Whether a failed call ended with Slack done with it (the connection was reset or closed
    by the other side, or refused) rather than silent (a timeout: Slack may still be at work)."""
    if isinstance(exc, URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return False
    # RemoteDisconnected is a ConnectionResetError; IncompleteRead and BadStatusLine mean an
    # answer had started or the peer closed: either way the request is no longer in flight.
    return isinstance(exc, (ConnectionError, http.client.HTTPException))


@dataclass(frozen=True)
class Snapshot:
    """What one outbox message asks of Slack, read before the call (the row may change)."""

    id: int
    kind: str
    method: str
    channel: str | None
    thread_ts: str | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


class SlackCalls:
    """The Web API calls that deliver outbox messages, with a cache of channel ids."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._channel_ids: dict[str, str] = {}

    def send(self, snap: Snapshot, channel: str | None) -> tuple[str | None, str | None]:
        """Make the message's call; the channel and ts Slack reports."""
        payload = dict(snap.payload)
        if snap.method == "chat.postMessage":
            args: dict[str, Any] = {
                "channel": channel,
                "text": payload.get("text", ""),
                "blocks": payload.get("blocks"),
                "metadata": {"event_type": METADATA_EVENT, "event_payload": {"outbox_id": snap.id}},
                "unfurl_links": False,
            }
            if snap.thread_ts:
                args["thread_ts"] = snap.thread_ts
            resp = self.client.chat_postMessage(**args)
            return resp.get("channel"), resp.get("ts")
        if snap.method == "chat.update":
            resp = self.client.chat_update(
                channel=str(channel),
                ts=str(snap.thread_ts or payload.get("ts")),
                text=payload.get("text", ""),
                blocks=payload.get("blocks"),
            )
            return resp.get("channel"), resp.get("ts")
        if snap.method == "chat.postEphemeral":
            resp = self.client.chat_postEphemeral(
                channel=str(channel),
                user=payload["user"],
                text=payload.get("text", ""),
                blocks=payload.get("blocks"),
            )
            return channel, resp.get("message_ts")
        if snap.method == RESPOND:
            return self._respond(payload), None
        raise ValueError(f"unsupported outbox method {snap.method}")

    def _respond(self, payload: dict[str, Any]) -> str | None:
        """Answer on a command's response URL (an ephemeral reply where the member typed)."""
        message = {k: v for k, v in payload.items() if k != "response_url"}
        resp = WebhookClient(payload["response_url"], timeout=self.client.timeout).send_dict(
            message
        )
        if resp.status_code != 200:
            raise SlackApiError(
                f"response_url answered HTTP {resp.status_code}",
                _FakeResponse(
                    {"ok": False, "error": resp.body or f"HTTP {resp.status_code}"},
                    status_code=resp.status_code,
                    headers=resp.headers,
                ),
            )
        return None

    def resolve_channel(self, channel: str | None) -> str | None:
        """Channel names become ids (history look-ups need ids); user ids become DM channels."""
        if channel is None:
            return None
        name = channel.lstrip("#")
        if name in self._channel_ids:
            return self._channel_ids[name]
        if _CHANNEL_ID.match(name):
            if name.startswith("U"):
                resp = self.client.conversations_open(users=name)
                self._channel_ids[name] = resp["channel"]["id"]
                return self._channel_ids[name]
            return name
        cursor = None
        while True:
            resp = self.client.conversations_list(
                limit=1000,
                cursor=cursor,
                exclude_archived=True,
                types="public_channel,private_channel",
            )
            ch: dict[str, Any]
            for ch in resp.get("channels", []):
                self._channel_ids[ch["name"]] = ch["id"]
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if name in self._channel_ids or not cursor:
                break
        if name not in self._channel_ids:
            raise SlackApiError(
                f"channel #{name} not found",
                _FakeResponse({"ok": False, "error": "channel_not_found"}),
            )
        return self._channel_ids[name]

    def join(self, channel: str) -> None:
        """Join a channel (by name or id), so the bot may post there."""
        self.client.conversations_join(channel=str(self.resolve_channel(channel)))

    def find_delivered(self, snap: Snapshot, channel: str | None) -> str | None:
        """Look in the channel (or thread) for a message carrying this outbox id."""
        if channel is None:
            return None
        cursor: str | None = None
        # Every page, not just the first: in a busy channel the message may be further back, and
        # missing it would mean posting it twice.
        for _page in range(_MAX_LOOKUP_PAGES):
            if snap.thread_ts:
                resp = self.client.conversations_replies(
                    channel=channel,
                    ts=snap.thread_ts,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            else:
                oldest = f"{snap.created_at.timestamp() - 120:.6f}"
                resp = self.client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            message: dict[str, Any]
            for message in resp.get("messages", []):
                md: dict[str, Any] = message.get("metadata") or {}
                if (
                    md.get("event_type") == METADATA_EVENT
                    and (md.get("event_payload") or {}).get("outbox_id") == snap.id
                ):
                    return str(message["ts"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        raise RuntimeError(f"could not finish looking for outbox message {snap.id}; will retry")


def retry_after(headers: Any) -> float:
    """Seconds Slack asked us to wait (header names are case-insensitive; HTTP/2 lowercases)."""
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return min(max(float(raw), 0.0), 3600.0)
            except (TypeError, ValueError):
                break
    return 1.0


class _FakeResponse(dict):  # type: ignore[type-arg]
    """Lets us raise SlackApiError for conditions we detect ourselves."""

    status_code = 200
    headers: dict[str, str] = {}

    def __init__(
        self, data: dict[str, Any], *, status_code: int = 200, headers: Any = None
    ) -> None:
        super().__init__(data)
        self.status_code = status_code
        self.headers = dict(headers or {})

    def get(self, key: str, default: Any = None) -> Any:  # noqa: D102
        return super().get(key, default)
