"""The HTTP face of the fake Slack: routing, authentication, recording and fault injection."""

from __future__ import annotations

import collections
import json
import logging
import random
import re
import threading
import time
import traceback
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.devtools.fakeslack.models import Call, Channel, Ephemeral, Message, UploadedFile, User
from bot.devtools.fakeslack.workspace import MethodHandler, Workspace

logger = logging.getLogger(__name__)

FAULT_KINDS: tuple[str, ...] = (
    "rate_limited",
    "server_error",
    "slow",
    "drop_before",
    "drop_after",
)
"""The faults the server injects by default (``set_faults`` without ``kinds``)."""

EXTRA_FAULT_KINDS: tuple[str, ...] = ("server_error_after",)
"""Faults injected only when asked for by name: ``server_error_after`` does the call, then
answers HTTP 500 (Slack's 5xx may or may not have posted)."""

WRITE_METHODS: frozenset[str] = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "chat.delete",
        "conversations.join",
        "views.open",
        "views.update",
        "views.push",
        "views.publish",
        "reactions.add",
        "files.completeUploadExternal",
        "files.upload",
        "upload_url",
        "response_url",
    }
)
"""Methods faulted by default: the ones that change the workspace."""

_APPLIED_FIRST = {"slow", "drop_after", "server_error_after"}


@dataclass
class Request:
    """An HTTP request as a route handler sees it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # keys in lower case
    body: bytes
    path_params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """Decode the body as JSON (ValueError if it is not)."""
        return json.loads(self.body.decode("utf-8") or "null")

    def form(self) -> dict[str, str]:
        """Decode the body as ``application/x-www-form-urlencoded``."""
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


@dataclass
class Response:
    """What a route handler answers; ``drop`` closes the connection without a response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (cut short by stop())
    drop: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """Build a JSON response."""
        return cls(
            status=status,
            body=json.dumps(data).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        )

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Response:
        """Build a text response."""
        return cls(
            status=status,
            body=text.encode("utf-8"),
            headers={"Content-Type": f"{content_type}; charset=utf-8"},
        )


RouteHandler = Callable[[Request], Response]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: RouteHandler


@dataclass
class _FaultPlan:
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    retry_after: int
    slow_seconds: float
    methods: frozenset[str]
    max_faults: int | None
    injected: int = 0


def _compile(path: str) -> re.Pattern[str]:
    """Turn ``/response/{id}`` into a regex; ``{name}`` matches one path segment."""
    parts = re.split(r"(\{[a-zA-Z_][a-zA-Z0-9_]*\})", path)
    regex = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") and p.endswith("}") else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{regex}$")


class FakeSlack:
    """A fake Slack Web API on loopback that records every call; stdlib only."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        team_id: str = "T0KMBOT",
        bot_user_id: str = "UKMBOT",
        bot_token: str = "xoxb-test",
        auto_channels: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.port = port
        self.bot_token = bot_token
        self.workspace = Workspace(
            team_id=team_id, bot_user_id=bot_user_id, auto_channels=auto_channels, clock=clock
        )
        self.tokens: dict[str, str] = {bot_token: bot_user_id}  # token -> acting user id
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self.errors: list[str] = []  # tracebacks of bugs in the fake itself
        self._lock = self.workspace.lock
        self._changed = self.workspace.changed
        self._calls: list[Call] = []
        self._faults: _FaultPlan | None = None
        self._routes: list[_Route] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.add_route("POST", "/api/{method}", self._handle_api)
        self.add_route("GET", "/api/{method}", self._handle_api)
        self.add_route("POST", "/response/{id}", self._handle_response_url)
        self.add_route("POST", "/upload/{file_id}", self._handle_upload)
        self.add_route("PUT", "/upload/{file_id}", self._handle_upload)
        self.add_route("GET", "/files/{file_id}/{filename}", self._handle_download)

    # -------------------------------------------------------------- lifecycle
    def start(self) -> FakeSlack:
        """Listen (on an ephemeral port when port=0) and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self._server = server
        self._stopping.clear()
        self.port = server.server_address[1]
        self.workspace.origin = self.origin
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakeslack-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; slow requests in flight are cut short, never waited for."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """Return ``http://host:port`` (only once started)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not running: call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Return the Web API base URL for ``WebClient(base_url=...)`` / SLACK_API_URL."""
        return f"{self.origin}/api/"

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
    ) -> None:
        """Add (or replace) a member of the workspace."""
        self.workspace.add_user(
            user_id, name=name, email=email, real_name=real_name, team_id=team_id, is_admin=is_admin
        )

    def add_channel(
        self, channel_id: str, name: str, *, is_private: bool = False, is_member: bool = True
    ) -> None:
        """Add a channel; with ``is_member=False`` posting answers ``not_in_channel``."""
        self.workspace.add_channel(channel_id, name, is_private=is_private, is_member=is_member)

    def add_token(self, token: str, user_id: str) -> None:
        """Accept another token (e.g. a user token) acting as ``user_id``."""
        with self._lock:
            self.tokens[token] = user_id

    def add_route(self, method: str, path: str, handler: RouteHandler) -> None:
        """Serve ``handler`` for ``method path``; ``{name}`` captures a segment; latest wins."""
        with self._lock:
            self._routes.insert(0, _Route(method.upper(), _compile(path), handler))

    def add_method(self, name: str, handler: MethodHandler) -> None:
        """Add or replace a Slack Web API method: ``handler(params, actor) -> body`` (no ``ok``)."""
        with self._lock:
            self.workspace.methods[name] = handler

    def new_response_url(
        self,
        *,
        user: str | None = None,
        channel: str | None = None,
        message_ts: str | None = None,
        thread_ts: str | None = None,
        max_uses: int = 5,
    ) -> str:
        """Return a response_url owned by ``user`` in ``channel`` (``message_ts``: the original)."""
        url_id = self.workspace.new_response_url_id(
            user=user,
            channel=channel,
            message_ts=message_ts,
            thread_ts=thread_ts,
            max_uses=max_uses,
        )
        return f"{self.origin}/response/{url_id}"

    def new_trigger_id(self, *, user: str | None = None, ttl: float = 3.0) -> str:
        """Issue a trigger_id that, like Slack's, expires after ``ttl`` s and works once."""
        return self.workspace.new_trigger_id(user=user, ttl=ttl)

    # ---------------------------------------------------------------- faults
    def set_faults(
        self,
        *,
        rate: float = 0.0,
        kinds: Sequence[str] = FAULT_KINDS,
        seed: int | None = None,
        retry_after: int = 1,
        slow_seconds: float = 3.0,
        methods: Collection[str] | None = None,
        max_faults: int | None = None,
    ) -> None:
        """Fail a ``rate`` share of calls to ``methods`` (default: writes) with ``kinds``."""
        known = FAULT_KINDS + EXTRA_FAULT_KINDS
        unknown = set(kinds) - set(known)
        if unknown or not kinds:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {known}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        with self._lock:
            self._faults = _FaultPlan(
                rate=rate,
                kinds=tuple(kinds),
                rng=random.Random(seed),
                retry_after=retry_after,
                slow_seconds=slow_seconds,
                methods=frozenset(WRITE_METHODS if methods is None else methods),
                max_faults=max_faults,
            )

    def clear_faults(self) -> None:
        """Stop injecting faults (the counter is kept)."""
        with self._lock:
            self._faults = None

    # ------------------------------------------------------------- recording
    @property
    def calls(self) -> list[Call]:
        """Return every call recorded so far, oldest first (a snapshot)."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Return the calls recorded to one method, oldest first."""
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait for ``count`` calls to ``method`` (matching ``where``); return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    c for c in self._calls if c.method == method and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = collections.Counter(c.method for c in self._calls)
                    raise AssertionError(
                        f"expected {count} call(s) to {method}"
                        f"{' matching the condition' if where else ''} within {timeout}s, "
                        f"got {len(found)}; recorded: {dict(seen) or 'nothing'}"
                    )
                self._changed.wait(remaining)

    def wait_until(
        self, condition: Callable[[], Any], timeout: float = 5.0, message: str = ""
    ) -> Any:
        """Wait until ``condition()`` is truthy (re-checked on every change); return its value."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = condition()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = collections.Counter(c.method for c in self._calls)
                    raise AssertionError(
                        f"condition not met within {timeout}s{': ' + message if message else ''}; "
                        f"recorded: {dict(seen) or 'nothing'}"
                    )
                self._changed.wait(remaining)

    def clear_calls(self) -> None:
        """Forget the recorded calls only."""
        with self._lock:
            self._calls.clear()

    def reset(self) -> None:
        """Forget calls, faults and content (messages, views, files); keep users and channels."""
        with self._lock:
            self._calls.clear()
            self._faults = None
            self.faults_injected.clear()
            self.errors.clear()
            self.workspace.clear_content()

    # ----------------------------------------------------------- state views
    def messages(self, channel: str) -> list[Message]:
        """Return a channel's top-level messages in ts order, excluding deleted ones."""
        return self.workspace.messages(channel)

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Return the replies in a thread (not the parent), in ts order."""
        return self.workspace.thread(channel, thread_ts)

    def message(self, channel: str, ts: str) -> Message | None:
        """Return one message, even a deleted one."""
        return self.workspace.message(channel, ts)

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        """Return ephemerals (chat.postEphemeral and ephemeral response_url replies)."""
        return self.workspace.ephemerals(user)

    def dms(self, user: str) -> list[Message]:
        """Return the top-level messages in the bot's DM with ``user``."""
        return self.workspace.dms(user)

    def views_opened(self) -> list[dict[str, Any]]:
        """Return every modal opened or pushed (current state), in order."""
        return self.workspace.views_opened()

    def home_view(self, user: str) -> dict[str, Any] | None:
        """Return the App Home last published for ``user``."""
        return self.workspace.home_view(user)

    def modal(self, user: str) -> dict[str, Any] | None:
        """Return the modal ``user`` sees now (the top of their stack), or None."""
        return self.workspace.modal(user)

    def files(self) -> list[UploadedFile]:
        """Return the completed uploads, with their bytes."""
        return self.workspace.files()

    def users(self) -> list[User]:
        """Return the members of the workspace."""
        return self.workspace.users()

    def channels(self) -> list[Channel]:
        """Return every conversation."""
        return self.workspace.channels()

    # ---------------------------------------------------------------- routing
    def dispatch(self, request: Request) -> Response:
        """Route a request to its handler (used by the HTTP server; callable directly)."""
        with self._lock:
            routes = list(self._routes)
        allowed = False
        for route in routes:
            match = route.pattern.match(request.path)
            if match is None:
                continue
            if route.method != request.method:
                allowed = True
                continue
            request.path_params = match.groupdict()
            try:
                return route.handler(request)
            except Exception:
                trace = traceback.format_exc()
                logger.error("fake Slack failed on %s %s\n%s", request.method, request.path, trace)
                with self._lock:
                    self.errors.append(trace)
                return Response.json({"ok": False, "error": "fake_slack_bug"}, status=500)
        if allowed:
            return Response.json({"ok": False, "error": "method_not_allowed"}, status=405)
        return Response.json({"ok": False, "error": "not_found"}, status=404)

    def _pick_fault(self, method: str) -> _FaultPlan | None:
        """Decide (deterministically, given the seed and call order) whether to fault a call."""
        plan = self._faults
        if plan is None or method not in plan.methods:
            return None
        if plan.max_faults is not None and plan.injected >= plan.max_faults:
            return None
        if plan.rng.random() >= plan.rate:
            return None
        plan.injected += 1
        return plan

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)
            self._changed.notify_all()

    def _faulted(
        self, request: Request, method: str, params: dict[str, Any], apply: Callable[[], Response]
    ) -> Response:
        """Run ``apply`` under the fault plan, recording the call whatever happens."""
        with self._lock:
            plan = self._pick_fault(method)
            kind = plan.rng.choice(plan.kinds) if plan is not None else None
            if kind is not None:
                self.faults_injected[kind] += 1
        headers = dict(request.headers)
        body: Any
        if plan is not None and kind is not None and kind not in _APPLIED_FIRST:
            if kind == "rate_limited":
                body = {"ok": False, "error": "ratelimited"}
                response = Response.json(
                    body, status=429, headers={"Retry-After": str(plan.retry_after)}
                )
            elif kind == "server_error":
                body = {"ok": False, "error": "fatal_error"}
                response = Response.json(body, status=500)
            else:  # drop_before
                body = {}
                response = Response(status=0, drop=True)
            self._record(
                Call(method, params, headers, time.time(), response.status, kind, False, body)
            )
            return response
        response = apply()
        try:
            body = json.loads(response.body or b"null")
        except ValueError:
            body = None
        ok = response.status == 200 and (not isinstance(body, dict) or bool(body.get("ok", True)))
        outcome = kind or ("ok" if ok else "error")
        status = response.status
        if plan is not None and kind == "slow":
            response.delay = plan.slow_seconds
        elif kind == "drop_after":
            response.drop, status = True, 0
        elif kind == "server_error_after":
            response = Response.json({"ok": False, "error": "fatal_error"}, status=500)
            status = 500
        self._record(
            Call(
                method,
                params,
                headers,
                time.time(),
                status,
                outcome,
                ok,
                body if isinstance(body, dict) else None,
            )
        )
        return response

    def _handle_api(self, request: Request) -> Response:
        method = request.path_params["method"]
        try:
            params = _parse_params(request)
        except ValueError:
            params = None
        params_seen = params if params is not None else {"_raw": request.body.decode("latin-1")}

        def apply() -> Response:
            if params is None:
                return Response.json({"ok": False, "error": "invalid_json"})
            token = _token(request.headers, params)
            if token is None:
                return Response.json({"ok": False, "error": "not_authed"})
            with self._lock:
                actor = self.tokens.get(token)
            if actor is None:
                return Response.json({"ok": False, "error": "invalid_auth"})
            return Response.json(self.workspace.call(method, params, actor))

        return self._faulted(request, method, params_seen, apply)

    def _handle_response_url(self, request: Request) -> Response:
        url_id = request.path_params["id"]
        try:
            payload = request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            form = request.form()
            payload = None
            if "payload" in form:
                try:
                    payload = json.loads(form["payload"])
                except ValueError:
                    payload = None
        params = dict(payload) if isinstance(payload, dict) else {}
        params["response_url_id"] = url_id

        def apply() -> Response:
            if not isinstance(payload, dict):
                return Response.json({"ok": False, "error": "invalid_payload"}, status=400)
            status, body = self.workspace.respond(url_id, payload)
            return Response.json(body, status=status)

        return self._faulted(request, "response_url", params, apply)

    def _handle_upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        content = request.body
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            parts = _parse_multipart(content, content_type)
            content = next((v for v in parts.values() if isinstance(v, bytes)), b"")
        params = {"file_id": file_id, "length": len(content)}

        def apply() -> Response:
            if not self.workspace.receive_upload(file_id, content):
                return Response.text("file_not_found", status=404)
            return Response.text(f"OK - {len(content)}")

        return self._faulted(request, "upload_url", params, apply)

    def _handle_download(self, request: Request) -> Response:
        file = self.workspace.file_content(request.path_params["file_id"])
        if file is None or not file.uploaded:
            return Response.text("file_not_found", status=404)
        return Response(
            status=200, body=file.content, headers={"Content-Type": "application/octet-stream"}
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeSlack

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or a dropped connection is expected here, not a bug.
        logger.debug("fake Slack connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("fake Slack: " + format, *args)

    def _serve(self) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        response = fake.dispatch(request)
        if response.delay > 0 and fake._stopping.wait(response.delay):
            response.drop = True  # stopping: do not keep the client (or stop()) waiting
        if response.drop:
            self.close_connection = True
            return
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("fake Slack: client went away before the response")

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve


def _token(headers: dict[str, str], params: dict[str, Any]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    token = params.get("token")
    return str(token) if token else None


def _parse_params(request: Request) -> dict[str, Any]:
    """Merge the query string with a JSON, form or multipart body, as Slack does."""
    params: dict[str, Any] = dict(request.query)
    content_type = request.headers.get("content-type", "").lower()
    if not request.body:
        return params
    if content_type.startswith("application/json"):
        data = request.json()
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        params.update(data)
    elif content_type.startswith("multipart/form-data"):
        params.update(_parse_multipart(request.body, request.headers["content-type"]))
    else:
        params.update(request.form())
    # slack_sdk sends JSON nulls for unset arguments; Slack ignores them.
    return {k: v for k, v in params.items() if v is not None}


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Parse multipart/form-data: text fields as str, file fields as bytes (binary-safe)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart body without a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    out: dict[str, Any] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, value = chunk.partition(b"\r\n\r\n")
        if value.endswith(b"\r\n"):
            value = value[:-2]
        disposition = next(
            (
                line.decode("utf-8", "replace")
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-disposition:")
            ),
            "",
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if name is None:
            continue
        if filename is not None:
            out[name.group(1)] = value
            out.setdefault("_filename", filename.group(1))
        else:
            out[name.group(1)] = value.decode("utf-8")
    return out
