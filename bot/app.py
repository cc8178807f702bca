"""The composition root for Slack: the Bolt app, and the WSGI web app around it."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from concurrent.futures import Executor
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltResponse
from slack_bolt.context import BoltContext
from slack_bolt.request import BoltRequest
from slack_bolt.request.internals import build_context
from sqlalchemy import text

from bot.container import Container
from bot.kernel.logs import configure_logging
from bot.kernel.settings import Settings
from bot.kernel.text import unescape
from bot.outbox.delivery import make_client
from bot.runtime.intake import IntakeDesk
from handlers import register_all
from storage import db

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's signatures are good for five minutes; a signature is remembered a little longer.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def create_app(
    settings: Settings,
    container: Container,
    *,
    verify_token: bool = False,
    listener_executor: Executor | None = None,
) -> App:
    """Build the Bolt app with every listener registered."""
    client = make_client(settings.slack_bot_token, settings.slack_api_url)
    _hush_bolt_token_warning()
    app = App(
        # The client carries the bot token (Bolt warns when given both).
        signing_secret=settings.slack_signing_secret,
        client=client,
        # auth.test at start-up would make every start depend on Slack being reachable.
        token_verification_enabled=verify_token,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
        **_executor(listener_executor),
    )
    if settings.slack_team_id:
        app.middleware(_only_team(settings.slack_team_id, settings.slack_enterprise_id))
    # Text as typed first: the stored body is what the member typed.
    app.middleware(_command_text_as_typed)
    # Runs after Bolt's own signature check, so only genuine requests are stored.
    app.middleware(_take_in(container.intake_desk))
    register_all(app, container)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        logger.exception("Unhandled error in a Slack listener: %s", error)

    return app


class _ClientCarriesToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and then warns that our client's token wins, as it
    should: that warning says nothing a person needs to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _hush_bolt_token_warning() -> None:
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _ClientCarriesToken) for f in bolt_logger.filters):
        bolt_logger.addFilter(_ClientCarriesToken())


def _executor(listener_executor: Executor | None) -> dict[str, Any]:
    return {"listener_executor": listener_executor} if listener_executor else {}


def _only_team(team_id: str, enterprise_id: str = ""):  # type: ignore[no-untyped-def]
    """Bolt middleware: with ``KMBOT_TEAM_ID`` set, only that workspace is served.

    A request from an Enterprise Grid organisation, or one that names no workspace, is refused
    unless ``KMBOT_ENTERPRISE_ID`` names that organisation too; even then a request that names a
    workspace must name ours."""

    def middleware(context: BoltContext, next: Any) -> BoltResponse | None:  # noqa: A002
        if _from_our_workspace(context.team_id, context.enterprise_id, team_id, enterprise_id):
            return next()
        logger.warning(
            "Refused a request from workspace %s (organisation %s)",
            context.team_id or "(none)",
            context.enterprise_id or "(none)",
        )
        return BoltResponse(status=403, body="This app serves one workspace only.")

    return middleware


def _from_our_workspace(
    team: str | None, enterprise: str | None, our_team: str, our_enterprise: str
) -> bool:
    if enterprise or not team:
        # An organisation's request (or one naming no workspace) only with that organisation set.
        ours = bool(our_enterprise) and enterprise == our_enterprise
        return ours and team in (None, "", our_team)
    return team == our_team


def _header(req: BoltRequest, name: str) -> str | None:
    values = req.headers.get(name) or []
    return str(values[0]) if values else None


def _take_in(desk: IntakeDesk):  # type: ignore[no-untyped-def]
    """Bolt middleware: store the request before its ack (one insert), refusing a replay.

    The signature is the stored request's key, so a second copy (same signature) is refused with
    401 in every web process. A request that carries work after the ack (publishing a post) is
    stored with its body; the posting process does that work, even if this process dies now."""

    def middleware(req: BoltRequest, context: BoltContext, next: Any) -> BoltResponse | None:  # noqa: A002
        signature = _header(req, "x-slack-signature")
        timestamp = _header(req, "x-slack-request-timestamp")
        if req.mode == "socket_mode" or not signature or not timestamp:
            # Socket Mode carries no signatures (its socket is authenticated): nothing to refuse,
            # but work it carries is stored all the same.
            if desk.routes.job_for(req.body) is None:
                return next()
            signature, timestamp = None, str(int(time.time()))
        taken = desk.take_in(signature, int(timestamp), req.body)
        if taken is None:
            logger.warning("Refused a replayed Slack request (timestamp %s)", timestamp)
            return BoltResponse(status=401, body="This request has been seen before.")
        context["intake"] = taken
        return next()

    return middleware


def _command_text_as_typed(req: BoltRequest, next: Any) -> BoltResponse | None:  # noqa: A002
    """Slack sends a slash command's text with ``&``, ``<`` and ``>`` escaped; undo that once,
    here, so every listener sees (and stores) what the member typed."""
    body = req.body
    if isinstance(body, dict) and body.get("command") and isinstance(body.get("text"), str):
        body["text"] = unescape(body["text"])
    return next()


def bolt_request(raw_body: str, headers: dict[str, Any], query: str = "") -> BoltRequest:
    """A BoltRequest, working round Bolt mistaking a slash command typed with "payload" for an
    interaction (it looks for the word anywhere in the body)."""
    request = BoltRequest(body=raw_body, query=query, headers=headers)
    if not request.body and raw_body and not raw_body.lstrip().startswith("{"):
        params = dict(parse_qsl(raw_body, keep_blank_values=True))
        if "payload" not in params and "command" in params:
            request.body = params
            request.context = build_context(BoltContext({}), params)
    return request


class KmbotWeb:
    """The WSGI app: Slack's requests at /slack/events and a health check at /healthz."""

    def __init__(self, app: App, container: Container) -> None:
        self.app = app
        self.container = container

    def dispatch(self, raw_body: str, headers: dict[str, Any], query: str = "") -> BoltResponse:
        """Hand a Slack request to Bolt (signature checks included)."""
        timestamp = next(
            (str(v) for k, v in headers.items() if k.lower() == "x-slack-request-timestamp"), None
        )
        if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp):
            # Bolt's verifier would raise on it (a 500); it is simply not a signed request.
            return BoltResponse(status=401, body="Invalid request timestamp.")
        return self.app.dispatch(bolt_request(raw_body, headers, query))

    def healthy(self) -> tuple[bool, dict[str, Any]]:
        """Whether the database answers, and how much the outbox owes Slack."""
        try:
            # A read: on SQLite it must neither take nor wait for the write lock.
            engine = self.container.engine.execution_options(**{db.READ_ONLY: True})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                pending = conn.execute(
                    text("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                ).scalar()
                queued = conn.execute(
                    text("SELECT COUNT(*) FROM intake WHERE status = 'pending'")
                ).scalar()
            return True, {
                "status": "ok",
                "database": "ok",
                "outbox_pending": int(pending or 0),
                "posts_queued": int(queued or 0),
            }
        except Exception as exc:  # report, do not raise: this is the health check
            logger.warning("Health check failed: %s", exc)
            return False, {"status": "error", "database": "unavailable"}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            ok, health = self.healthy()
            return _reply(
                start_response, 200 if ok else 503, json.dumps(health), "application/json"
            )
        if path == EVENTS_PATH and method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > 1_000_000:
                return _reply(start_response, 413, "Request too large")
            raw = environ["wsgi.input"].read(length).decode("utf-8", errors="replace")
            headers: dict[str, Any] = {
                key[5:].replace("_", "-").lower(): value
                for key, value in environ.items()
                if key.startswith("HTTP_")
            }
            if environ.get("CONTENT_TYPE"):
                headers["content-type"] = environ["CONTENT_TYPE"]
            resp = self.dispatch(raw, headers, environ.get("QUERY_STRING", ""))
            status = resp.status
            body = resp.body or ""
            ctype = (resp.headers.get("content-type") or ["text/plain"])[0]
            extra = [
                (k, v) for k, vs in resp.headers.items() if k.lower() != "content-type" for v in vs
            ]
            return _reply(start_response, status, body, ctype, extra)
        if path == EVENTS_PATH:
            return _reply(start_response, 405, "Use POST")
        return _reply(start_response, 404, "Not found")


_REASONS = {
    200: "OK",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    503: "Service Unavailable",
}


def _reply(
    start_response: Any,
    status: int,
    body: str,
    ctype: str = "text/plain",
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    data = body.encode("utf-8")
    headers = [
        ("Content-Type", ctype if "charset" in ctype else f"{ctype}; charset=utf-8"),
        ("Content-Length", str(len(data))),
    ] + (extra or [])
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [data]


def create_web(settings: Settings, container: Container, **kwargs: Any) -> KmbotWeb:
    """The WSGI app for ``kmbot serve`` and gunicorn."""
    return KmbotWeb(create_app(settings, container, **kwargs), container)


def wsgi_from_env(posting: str = "here") -> KmbotWeb:
    """Gunicorn's entry point (``bot.app:wsgi_from_env()``): settings from the environment.

    ``posting="here"`` publishes stored posts on a thread of this process; the Procfile's web
    process passes ``"elsewhere"`` and only acknowledges, while ``kmbot posting`` publishes."""
    from bot.container import build_container

    if posting not in POSTING_MODES:
        raise ValueError(f"posting must be one of {', '.join(POSTING_MODES)}")
    settings = Settings.from_env()
    configure_logging(settings.log_level or "INFO")  # under gunicorn nothing else does
    settings.require("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
    container = build_container(settings)
    web = create_web(settings, container)
    start_background(container, posting=posting == "here")
    return web


# Where a web process's stored posts are published: on a thread of its own, or elsewhere
# (``kmbot posting``).
POSTING_MODES = ("here", "elsewhere")


def start_background(container: Container, *, posting: bool = True, deliver: bool = True) -> None:
    """Load the match index and, with ``posting``, start publishing the stored posts and (unless
    ``deliver`` is False: a ``kmbot deliver`` process does it) delivering the outbox, after the
    app is built (its handlers register the work).

    Without ``posting`` (a web process beside ``kmbot posting``) this process only acknowledges:
    the posting process delivers what its listeners owe Slack too, so a burst of delivery never
    competes with acknowledgements for this process's interpreter."""
    # Acks wait for the GIL behind CPU-bound threads; a shorter switch interval lets a waiting
    # request thread in sooner (Python's default is 5 ms).
    sys.setswitchinterval(0.0005)
    with container.read_session() as session:
        container.live_index.refresh(session)
    if posting and deliver:
        container.deliverer.start(poll_seconds=DELIVERY_POLL_SECONDS)
    if posting:
        container.intake.start()


# How often a posting process looks for messages owed by other processes (its own are sent at
# once): a web process's listeners (buttons, forms) owe messages it does not deliver itself.
DELIVERY_POLL_SECONDS = 0.5
