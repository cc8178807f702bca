"""The sandbox: the real bot wired to the fake Slack, and the JSON endpoints the page uses.

Everything the page does reaches the bot as Slack would send it: signed HTTP requests to the
bot's own ``/slack/events`` on a loopback port. What the bot says lands in the fake Slack's
Web API, which the page reads back through ``/sandbox/state``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_sdk.signature import SignatureVerifier

from bot.container import Container, build_container
from bot.devtools.fakeslack import (
    Ephemeral,
    FakeSlack,
    Message,
    Request,
    Response,
    UploadedFile,
    as_slack_sends_typed_text,
)
from bot.devtools.sandbox.cast import (
    ALLOWED_COMMANDS,
    COMMUNITIES,
    MARKET_ID,
    MEMBERS,
    TEAM_ID,
    TEAM_NAME,
    SampleMember,
)
from bot.devtools.sandbox.clock import SimulatedClock
from bot.kernel.data import EXAMPLE_WORKSHOP
from bot.kernel.settings import Settings
from bot.kernel.text import escape, is_channel_id
from bot.slack import ids

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# kmbot's shortcuts (manifest.yaml's features.shortcuts), offered on the page.
SHORTCUTS = [
    {"callback_id": ids.SC_POST_FROM_MESSAGE, "name": "Post as a want / offer", "type": "message"},
    {"callback_id": ids.SC_REPORT, "name": "Report to facilitators", "type": "message"},
    {"callback_id": ids.SC_POST_GLOBAL, "name": "Post a want or offer", "type": "global"},
]
BOT_TIMEOUT = 10.0  # seconds; Slack itself waits three for an ack
LONG_POLL_SECONDS = 15.0
APP_ID = "A0KMBOT"


@dataclass(frozen=True)
class BotReply:
    """The bot's HTTP answer to a request the page sent on a member's behalf."""

    status: int
    body: str
    content_type: str

    def json(self) -> dict[str, Any]:
        """The answer as JSON, or {} when it was empty or not JSON."""
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("bot: " + format, *args)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Sandbox:
    """The bot, the fake Slack and the page, started and stopped together."""

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        example: bool = True,
        start_at: datetime | None = None,
    ) -> None:
        self.base_settings = settings
        self.host = host
        self.port = port
        self.example = example
        if start_at is not None and start_at.tzinfo is None:
            raise ValueError("start_at must be an aware datetime (give it a time zone)")
        # The simulated clock starts here instead of now: for tests.
        self.start_at = start_at
        self.signing_secret = secrets.token_hex(16)
        self.bot_token = "xoxb-sandbox-" + secrets.token_hex(8)
        self.verifier = SignatureVerifier(self.signing_secret)
        self.fake = FakeSlack(host=host, port=port, team_id=TEAM_ID, bot_token=self.bot_token)
        self.fake.workspace.team_name = TEAM_NAME
        self.members = {m.id: m for m in MEMBERS}
        self.settings: Settings | None = None
        self.container: Container | None = None
        self.clock: SimulatedClock | None = None
        self._bot_server: _ThreadingWSGIServer | None = None
        self._bot_thread: threading.Thread | None = None
        self._page = (STATIC / "index.html").read_bytes()
        self._script_hashes = _script_hashes(self._page.decode("utf-8"))

    # ------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        """The page's address."""
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host
        if ":" in host:
            host = f"[{host}]"  # an IPv6 address
        return f"http://{host}:{self.fake.port}/"

    @property
    def bot_url(self) -> str:
        """Where the bot listens for Slack's requests (loopback only)."""
        assert self._bot_server is not None
        return f"http://127.0.0.1:{self._bot_server.server_port}/slack/events"

    def start(self) -> Sandbox:
        """Start the fake Slack and the page, then the bot, and fill the workspace."""
        from bot.app import create_web

        self.fake.start()
        try:
            self._add_routes()
            self._furnish_workspace()
            facilitators = tuple(
                dict.fromkeys(
                    (*self.base_settings.facilitators, *(m.id for m in MEMBERS if m.facilitator))
                )
            )
            self.settings = self.base_settings.with_(
                slack_bot_token=self.bot_token,
                slack_signing_secret=self.signing_secret,
                slack_api_url=self.fake.url,
                slack_team_id=TEAM_ID,
                marketplace_channel=MARKET_ID,
                facilitators=facilitators,
            )
            self.clock = SimulatedClock(self.settings.timezone, start_at=self.start_at)
            self.container = build_container(self.settings, clock=self.clock.now)
            self.clock.attach(self.container)
            web = create_web(self.settings, self.container)
            self._bot_server = make_server(
                "127.0.0.1",
                0,
                web,
                server_class=_ThreadingWSGIServer,
                handler_class=_QuietHandler,
            )
            self._bot_thread = threading.Thread(
                target=self._bot_server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="sandbox-bot",
                daemon=True,
            )
            self._bot_thread.start()
            self._prepare_store()
            assert self.container.deliverer is not None
            self.container.deliverer.start(poll_seconds=1.0)
            self.container.deliverer.kick()
            # Posts are stored before their ack and published by this thread, as in production.
            self.container.intake.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the bot and the fake Slack; release the database."""
        if self._bot_server is not None:
            self._bot_server.shutdown()
            self._bot_server.server_close()
            self._bot_server = None
        if self._bot_thread is not None:
            self._bot_thread.join(timeout=5)
            self._bot_thread = None
        if self.container is not None:
            self.container.close()
            self.container = None
        self.fake.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ setting the scene
    def _furnish_workspace(self) -> None:
        market_name = self.base_settings.marketplace_channel.lstrip("#")
        if is_channel_id(market_name):
            market_name = "km-marketplace"  # the env names a real channel id: keep a readable name
        self.fake.add_channel(MARKET_ID, market_name)
        for community in COMMUNITIES:
            self.fake.add_channel(community.channel_id, community.name)
        for member in MEMBERS:
            self.fake.add_user(
                member.id,
                name=member.handle,
                real_name=member.name,
                email=member.email,
                team_id=TEAM_ID,
            )
            # Every member has a DM with the bot from the start, as in a real workspace.
            self.fake.workspace.call(
                "conversations.open", {"users": member.id}, self.fake.workspace.bot_user_id
            )

    def _prepare_store(self) -> None:
        """Register the communities and (unless asked not to) load the example workshop."""
        assert self.container is not None and self.settings is not None
        assert self.clock is not None
        container = self.container
        from bot.services.membership import ensure_reference_councils

        with container.session_factory.begin() as session:
            # Seed the council list now, not on the first member's first post.
            ensure_reference_councils(session, container.directory)
            # Registered at the sandbox's time, so their first slot after it is theirs even
            # when the clock was started at a chosen instant.
            _add_communities(session, now=self.clock.now())
        if self.example:
            load_example_workshop(container, self.settings)
        with container.session_factory() as session:
            container.live_index.refresh(session)

    # ------------------------------------------------------------ talking to the bot
    def _signed_post(self, body: str, content_type: str) -> BotReply:
        """POST a body to the bot's /slack/events, signed exactly as Slack signs it."""
        timestamp = str(int(time.time()))
        headers: dict[str, str] = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": str(
                self.verifier.generate_signature(timestamp=timestamp, body=body)
            ),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        request = urllib.request.Request(
            self.bot_url, data=body.encode("utf-8"), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=BOT_TIMEOUT) as resp:
                return BotReply(
                    resp.status,
                    resp.read().decode("utf-8", "replace"),
                    resp.headers.get("Content-Type", ""),
                )
        except urllib.error.HTTPError as exc:
            return BotReply(
                exc.code, exc.read().decode("utf-8", "replace"), exc.headers.get("Content-Type", "")
            )
        except (urllib.error.URLError, TimeoutError) as exc:
            logger.warning("The bot did not answer: %s", exc)
            return BotReply(0, "", "")

    def _interaction(self, payload: dict[str, Any]) -> BotReply:
        return self._signed_post(
            urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        )

    def _event(self, event: dict[str, Any]) -> BotReply:
        body = json.dumps(
            {
                "token": "sandbox",
                "team_id": TEAM_ID,
                "api_app_id": APP_ID,
                "type": "event_callback",
                "event_id": f"Ev{time.time_ns()}",
                "event_time": int(time.time()),
                "event": event,
                "authorizations": [
                    {"team_id": TEAM_ID, "user_id": self.fake.workspace.bot_user_id, "is_bot": True}
                ],
            }
        )
        return self._signed_post(body, "application/json")

    def _member(self, data: dict[str, Any]) -> SampleMember:
        member = self.members.get(str(data.get("user") or ""))
        if member is None:
            raise _PageError("Choose a member first.")
        return member

    def _user_obj(self, member: SampleMember) -> dict[str, Any]:
        return {
            "id": member.id,
            "username": member.handle,
            "name": member.handle,
            "team_id": TEAM_ID,
        }

    def _team(self) -> dict[str, Any]:
        return {"id": TEAM_ID, "domain": "kmnetwork"}

    # ------------------------------------------------------------ what the page can do
    def send_command(self, user: str, channel: str, text: str) -> dict[str, Any]:
        """Send a slash command typed in the composer, as Slack would."""
        member = self._member({"user": user})
        command, _, rest = text.strip().partition(" ")
        command = command.lower()
        if not command.startswith("/"):
            # Plain text is a message from the member (a shortcut can then act on it).
            return self.say(member, channel, text)
        if command not in ALLOWED_COMMANDS:
            raise _PageError(
                f"{command} is not a kmbot command. Try /want, /offer, /km or /km-admin."
            )
        found = self.fake.workspace.channels()
        conversation = next((c for c in found if c.id == channel), None)
        if conversation is None:
            raise _PageError("That conversation no longer exists.")
        response_url = self.fake.new_response_url(user=member.id, channel=conversation.id)
        body = urlencode(
            {
                "token": "sandbox",
                "team_id": TEAM_ID,
                "team_domain": "kmnetwork",
                "channel_id": conversation.id,
                "channel_name": "directmessage" if conversation.is_im else conversation.name,
                "user_id": member.id,
                "user_name": member.handle,
                "command": command,
                "text": as_slack_sends_typed_text(rest.strip()),
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": self.fake.new_trigger_id(user=member.id),
            }
        )
        reply = self._signed_post(body, "application/x-www-form-urlencoded")
        if reply.status != 200:
            # What Slack shows when an app fails to answer a command.
            self._show_ephemeral(
                response_url,
                {
                    "text": f'{command} failed with the error "dispatch_failed" '
                    f"(kmbot answered HTTP {reply.status or 'nothing'}).",
                },
            )
        elif reply.body.strip():
            # An ack with content is shown to the member, as Slack does.
            answer = reply.json() or {"text": reply.body}
            self._show_ephemeral(response_url, answer)
        return {"ok": reply.status == 200, "status": reply.status}

    def say(self, member: SampleMember, channel: str, text: str) -> dict[str, Any]:
        """A member's own message in a channel, as they would type it in Slack."""
        text = text.strip()
        if not text:
            raise _PageError("Type a message first.")
        if len(text) > 4000:
            raise _PageError("That message is too long for Slack (4,000 characters at most).")
        ws = self.fake.workspace
        conversation = next((c for c in ws.channels() if c.id == channel), None)
        if conversation is None or conversation.is_im:
            raise _PageError("Post messages in a channel; in kmbot's DM, use its commands.")
        typed = escape(text)  # Slack escapes &, < and > in what a person types
        answer = ws.call("chat.postMessage", {"channel": conversation.id, "text": typed}, member.id)
        if not answer.get("ok"):
            raise _PageError(f"Slack refused the message ({answer.get('error')}).")
        return {"ok": True, "ts": answer.get("ts")}

    def shortcut(self, data: dict[str, Any]) -> dict[str, Any]:
        """Run a shortcut: a message shortcut on a message, or a global one."""
        member = self._member(data)
        callback_id = str(data.get("callback_id") or "")
        found = next((s for s in SHORTCUTS if s["callback_id"] == callback_id), None)
        if found is None:
            raise _PageError("kmbot has no such shortcut.")
        payload: dict[str, Any] = {
            "type": "shortcut",
            "callback_id": callback_id,
            "user": self._user_obj(member),
            "team": self._team(),
            "api_app_id": APP_ID,
            "token": "sandbox",
            "trigger_id": self.fake.new_trigger_id(user=member.id),
            "action_ts": f"{time.time():.6f}",
            "is_enterprise_install": False,
        }
        if found["type"] == "message":
            channel = str(data.get("channel") or "")
            ts = str(data.get("ts") or "")
            message, thread_ts, _ephemeral = self._clicked_message(member.id, channel, ts)
            payload.update(
                {
                    "type": "message_action",
                    "channel": {"id": channel, "name": self._channel_name(channel)},
                    "message": message,
                    "message_ts": ts,
                    "response_url": self.fake.new_response_url(
                        user=member.id, channel=channel, message_ts=ts, thread_ts=thread_ts
                    ),
                }
            )
        reply = self._interaction(payload)
        return {"ok": reply.status == 200, "status": reply.status}

    def _show_ephemeral(self, response_url: str, payload: dict[str, Any]) -> None:
        url_id = response_url.rsplit("/", 1)[-1]
        message = {k: v for k, v in payload.items() if k in ("text", "blocks")}
        message.setdefault("text", "")
        if payload.get("response_type") == "in_channel":
            message["response_type"] = "in_channel"
        self.fake.workspace.respond(url_id, message)

    def click(self, data: dict[str, Any]) -> dict[str, Any]:
        """A button or select in a message, an ephemeral, App Home or a modal."""
        member = self._member(data)
        action = _action(data.get("action"))
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user_obj(member),
            "api_app_id": APP_ID,
            "token": "sandbox",
            "team": self._team(),
            "trigger_id": self.fake.new_trigger_id(user=member.id),
            "is_enterprise_install": False,
            "actions": [action],
        }
        view_id = data.get("view_id")
        if view_id:
            view = self.fake.workspace.view(str(view_id))
            if view is None:
                raise _PageError("That view has gone.")
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view["id"]}
        else:
            channel = str(data.get("channel") or "")
            ts = str(data.get("ts") or "")
            message, thread_ts, ephemeral = self._clicked_message(member.id, channel, ts)
            payload["channel"] = {"id": channel, "name": self._channel_name(channel)}
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            }
            if thread_ts:
                payload["container"]["thread_ts"] = thread_ts
            payload["message"] = message
            payload["response_url"] = self.fake.new_response_url(
                user=member.id, channel=channel, message_ts=ts, thread_ts=thread_ts
            )
        reply = self._interaction(payload)
        return {"ok": reply.status == 200, "status": reply.status}

    def _clicked_message(
        self, user: str, channel: str, ts: str
    ) -> tuple[dict[str, Any], str | None, bool]:
        ws = self.fake.workspace
        found = ws.message(channel, ts)
        if found is not None and not found.deleted:
            api = found.to_api(team_id=ws.team_id, bot_id=ws.bot_id)
            return api, found.thread_ts, False
        for ephemeral in ws.ephemerals(user):
            if ephemeral.ts == ts:
                message = {
                    "type": "message",
                    "ts": ts,
                    "text": ephemeral.text,
                    "blocks": ephemeral.blocks or [],
                }
                return message, ephemeral.thread_ts, True
        raise _PageError("That message has gone.")

    def submit(self, data: dict[str, Any]) -> dict[str, Any]:
        """Submit the member's open modal with the values they entered."""
        member = self._member(data)
        view = self.fake.workspace.modal(member.id)
        if view is None or view["id"] != data.get("view_id"):
            raise _PageError("That form is no longer open.")
        values = data.get("values")
        view["state"] = {"values": values if isinstance(values, dict) else {}}
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user_obj(member),
            "api_app_id": APP_ID,
            "token": "sandbox",
            "trigger_id": self.fake.new_trigger_id(user=member.id),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        reply = self._interaction(payload)
        if reply.status != 200:
            return {
                "ok": False,
                "status": reply.status,
                "message": "kmbot could not take that form (it answered HTTP "
                f"{reply.status or 'nothing'}). Try again.",
            }
        answer = reply.json()
        if answer.get("response_action") == "errors":
            errors = answer.get("errors") if isinstance(answer.get("errors"), dict) else {}
            return {"ok": True, "errors": errors}
        self.fake.workspace.answer_submission(member.id, view["id"], answer)
        return {"ok": True}

    def close_modal(self, data: dict[str, Any]) -> dict[str, Any]:
        """Cancel: close the member's top modal, telling the bot if it asked to know."""
        member = self._member(data)
        view = self.fake.workspace.modal(member.id)
        if view is None:
            return {"ok": True}
        self.fake.workspace.close_modal(member.id)
        if view.get("notify_on_close"):
            self._interaction(
                {
                    "type": "view_closed",
                    "team": self._team(),
                    "user": self._user_obj(member),
                    "api_app_id": APP_ID,
                    "token": "sandbox",
                    "view": view,
                    "is_cleared": False,
                }
            )
        return {"ok": True}

    def options(self, data: dict[str, Any]) -> dict[str, Any]:
        """Type-ahead in an external select: ask the bot for options."""
        member = self._member(data)
        view = self.fake.workspace.modal(member.id)
        payload = {
            "type": "block_suggestion",
            "user": self._user_obj(member),
            "team": self._team(),
            "api_app_id": APP_ID,
            "token": "sandbox",
            "action_id": str(data.get("action_id") or ""),
            "block_id": str(data.get("block_id") or ""),
            "value": str(data.get("value") or "")[:150],
            "view": view or {},
        }
        answer = self._interaction(payload).json()
        return {
            "options": answer.get("options") or [],
            "option_groups": answer.get("option_groups") or [],
        }

    def open_home(self, user: str) -> dict[str, Any]:
        """The member opened App Home: the bot publishes it."""
        member = self._member({"user": user})
        reply = self._event(
            {
                "type": "app_home_opened",
                "user": member.id,
                "channel": self.fake.workspace.dm_channel(member.id) or "",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            }
        )
        return {"ok": reply.status == 200}

    def run_job(self, job: str | None) -> dict[str, Any]:
        """Move the simulated clock to the next scheduled job (or the one named) and run it."""
        assert self.clock is not None
        result = self.clock.run_next(job)
        if self.container is not None and self.container.deliverer is not None:
            self.container.deliverer.kick()
        return result

    # ------------------------------------------------------------ the page's view of Slack
    def state(self, user: str, conversation: str | None, thread: str | None) -> dict[str, Any]:
        """What the member would see in Slack now."""
        ws = self.fake.workspace
        version = ws.version
        member = self.members.get(user)
        names = {u.id: (u.real_name or u.name) for u in ws.users()}
        channels = [c for c in ws.channels() if not c.is_im and not c.is_mpim]
        dm = ws.dm_channel(user) if member else None
        ephemerals = ws.ephemerals(user) if member else []
        out: dict[str, Any] = {
            "version": version,
            "team": ws.team_name,
            "bot": {"id": ws.bot_user_id, "name": "kmbot"},
            "members": [
                {"id": m.id, "name": m.name, "council": m.council, "facilitator": m.facilitator}
                for m in MEMBERS
            ],
            "users": names,
            "channels": [
                {"id": c.id, "name": c.name, "count": len(ws.messages(c.id))} for c in channels
            ],
            "channel_names": {c.id: c.name for c in channels},
            "dm": {"id": dm, "count": len(ws.messages(dm)) if dm else 0},
            "market": MARKET_ID,
            "shortcuts": SHORTCUTS,
            "clock": self.clock.describe() if self.clock else None,
            "jobs": self.clock.jobs() if self.clock else [],
        }
        if not member:
            return out
        if conversation and conversation != "home":
            files = {f.id: f for f in ws.files()}
            top = [_message_json(m, names, files) for m in ws.messages(conversation)]
            top += [
                _ephemeral_json(e, names)
                for e in ephemerals
                if e.channel == conversation and not e.thread_ts
            ]
            top.sort(key=lambda m: _ts_key(m["ts"]))
            out["conversation"] = {"id": conversation, "messages": top}
            if thread:
                parent = ws.message(conversation, thread)
                if parent is not None and not parent.deleted:
                    replies = [
                        _message_json(m, names, files) for m in ws.thread(conversation, thread)
                    ]
                    replies += [
                        _ephemeral_json(e, names)
                        for e in ephemerals
                        if e.channel == conversation and e.thread_ts == thread
                    ]
                    replies.sort(key=lambda m: _ts_key(m["ts"]))
                    out["thread"] = {
                        "channel": conversation,
                        "ts": thread,
                        "parent": _message_json(parent, names, files),
                        "replies": replies,
                    }
        out["home"] = ws.home_view(user)
        out["modal"] = ws.modal(user)
        return out

    # ------------------------------------------------------------ routes
    def _add_routes(self) -> None:
        add = self.fake.add_route
        add("GET", "/", self._route_page)
        add("GET", "/index.html", self._route_page)
        add("GET", "/favicon.ico", lambda r: Response(status=204))
        add("GET", "/sandbox/state", self._route_state)
        add(
            "POST",
            "/sandbox/command",
            self._guard(
                lambda d: self.send_command(
                    str(d.get("user") or ""), str(d.get("channel") or ""), str(d.get("text") or "")
                )
            ),
        )
        add("POST", "/sandbox/click", self._guard(self.click))
        add("POST", "/sandbox/shortcut", self._guard(self.shortcut))
        add("POST", "/sandbox/submit", self._guard(self.submit))
        add("POST", "/sandbox/close", self._guard(self.close_modal))
        add("POST", "/sandbox/options", self._guard(self.options))
        add("POST", "/sandbox/home", self._guard(lambda d: self.open_home(str(d.get("user")))))
        add(
            "POST",
            "/sandbox/run-job",
            self._guard(lambda d: self.run_job(str(d["job"]) if d.get("job") else None)),
        )

    def _route_page(self, request: Request) -> Response:
        return Response(
            status=200,
            body=self._page,
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "Cache-Control": "no-store",
                # Only the page's own script (by hash) may run: text that slipped through as HTML
                # could not execute anything.
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                "style-src 'self' 'unsafe-inline'; "
                f"script-src {self._script_hashes}; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def _route_state(self, request: Request) -> Response:
        try:
            since = int(request.query.get("since", "-1"))
        except ValueError:
            since = -1
        if since >= 0:
            self.fake.workspace.wait_changed(since, LONG_POLL_SECONDS)
        state = self.state(
            request.query.get("user", ""),
            request.query.get("conversation"),
            request.query.get("thread") or None,
        )
        return Response.json(state, headers={"Cache-Control": "no-store"})

    def _guard(self, handler: Any) -> Any:
        """Wrap a page action: JSON in, JSON out, and friendly errors instead of tracebacks."""

        def route(request: Request) -> Response:
            if "application/json" not in request.headers.get("content-type", ""):
                # Only our page sends JSON; a cross-site form post cannot, so it cannot act.
                return Response.json({"ok": False, "message": "Send JSON."}, status=415)
            try:
                data = request.json()
            except ValueError:
                return Response.json({"ok": False, "message": "That was not JSON."}, status=400)
            if not isinstance(data, dict):
                return Response.json({"ok": False, "message": "Send a JSON object."}, status=400)
            try:
                return Response.json(handler(data))
            except _PageError as exc:
                return Response.json({"ok": False, "message": str(exc)}, status=400)

        return route

    def _channel_name(self, channel: str) -> str:
        found = next((c for c in self.fake.workspace.channels() if c.id == channel), None)
        if found is None:
            return channel
        return "directmessage" if found.is_im else found.name


def _script_hashes(html: str) -> str:
    """CSP sources allowing exactly the page's inline scripts."""
    scripts = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    return (
        " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
            for s in scripts
        )
        or "'none'"
    )


class _PageError(Exception):
    """A mistake the page should show the member."""


def _action(raw: Any) -> dict[str, Any]:
    """Rebuild the clicked element as Slack reports it; take only fields Slack would send."""
    if not isinstance(raw, dict) or not raw.get("action_id"):
        raise _PageError("That control has no action.")
    kind = str(raw.get("type") or "button")
    action: dict[str, Any] = {
        "type": kind,
        "action_id": str(raw["action_id"]),
        "block_id": str(raw.get("block_id") or "sandbox"),
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        if raw.get("value") is not None:
            action["value"] = str(raw["value"])
        if isinstance(raw.get("text"), dict):
            action["text"] = raw["text"]
        if raw.get("style"):
            action["style"] = str(raw["style"])
    elif isinstance(raw.get("selected_option"), dict):
        action["selected_option"] = raw["selected_option"]
    return action


def _message_json(
    msg: Message, names: dict[str, str], files: dict[str, UploadedFile]
) -> dict[str, Any]:
    shared = [files[f] for f in msg.files if f in files]
    return {
        "files": [
            {
                "name": f.filename,
                "title": f.title or f.filename,
                "url": f"/files/{f.id}/{urllib.parse.quote(f.filename)}",
            }
            for f in shared
        ],
        "ts": msg.ts,
        "user": msg.user,
        "user_name": names.get(msg.user, msg.user),
        "text": msg.text,
        "blocks": msg.blocks or [],
        "thread_ts": msg.thread_ts,
        "reply_count": msg.reply_count if not msg.is_reply else 0,
        "edited": msg.edited,
        "ephemeral": False,
    }


def _ephemeral_json(eph: Ephemeral, names: dict[str, str]) -> dict[str, Any]:
    return {
        "ts": eph.ts,
        "user": "UKMBOT",
        "user_name": "kmbot",
        "text": eph.text,
        "blocks": eph.blocks or [],
        "thread_ts": eph.thread_ts,
        "reply_count": 0,
        "edited": eph.replaced,
        "ephemeral": True,
    }


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds or 0), int((micros or "0").ljust(6, "0")[:6])


def _add_communities(session: Any, *, now: datetime) -> None:
    """Register the sample communities of practice (once), as added at ``now``."""
    from sqlalchemy import select

    from bot.services.communities import add_community, ensure_builtin_prompts
    from storage.models import CommunityOfPractice

    for community in COMMUNITIES:
        known = session.scalar(
            select(CommunityOfPractice.id).where(
                CommunityOfPractice.channel_id == community.channel_id
            )
        )
        if known is not None:
            continue
        add_community(
            session,
            channel_id=community.channel_id,
            name=community.name,
            area=community.area,
            weekday=community.weekday,
            time_of_day=community.time_of_day,
            now=now,
        )
    ensure_builtin_prompts(session)


def load_example_workshop(container: Container, settings: Settings) -> int:
    """Import the example workshop (idempotent) and announce its posts' cards; returns new posts."""
    from bot.outbox import enqueue as outbox
    from bot.services.views import post_view
    from bot.services.workshop_csv import parse_workshop
    from bot.services.workshop_import import import_workshop
    from bot.slack import posts as post_messages
    from storage.models import Post

    parsed = parse_workshop(EXAMPLE_WORKSHOP, max_text=settings.max_post_length)
    with container.session_factory.begin() as session:
        summary = import_workshop(
            session,
            parsed,
            container.directory,
            expiry_days=settings.expiry_days,
            now=container.clock(),
        )
        if summary.problems:
            raise RuntimeError(f"the example workshop did not import: {summary.problems[0]}")
        # Cards make the marketplace look as it would after the workshop; the same dedupe key
        # as a Slack post's card, so a post is never announced twice.
        for post_id in summary.post_ids:
            post = session.get(Post, post_id)
            assert post is not None
            outbox.enqueue(
                session,
                kind="card",
                channel=settings.marketplace_channel,
                payload=post_messages.card(post_view(post)),
                post_id=post.id,
                dedupe_key=f"card:{post.id}",
            )
    return summary.added
