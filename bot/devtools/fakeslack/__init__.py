"""A fake Slack Web API server on loopback, for the test suite and the local sandbox.

Usage::

    with FakeSlack() as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        client.chat_postMessage(channel="C1", text="Hello")
        assert fake.messages("C1")[0].text == "Hello"

``FakeSlack`` serves HTTP and records calls; ``Workspace`` holds the state and implements the
Slack methods without any HTTP, so other front ends (a browser sandbox) can share it.
"""

from __future__ import annotations

from bot.devtools.fakeslack.models import (
    Call,
    Channel,
    Ephemeral,
    Message,
    SlackError,
    UploadedFile,
    User,
)
from bot.devtools.fakeslack.server import (
    FAULT_KINDS,
    WRITE_METHODS,
    FakeSlack,
    Request,
    Response,
    RouteHandler,
)
from bot.devtools.fakeslack.typed_text import as_slack_sends_typed_text
from bot.devtools.fakeslack.workspace import MethodHandler, Workspace

__all__ = [
    "FAULT_KINDS",
    "WRITE_METHODS",
    "Call",
    "Channel",
    "Ephemeral",
    "FakeSlack",
    "Message",
    "MethodHandler",
    "Request",
    "Response",
    "RouteHandler",
    "SlackError",
    "UploadedFile",
    "User",
    "Workspace",
    "as_slack_sends_typed_text",
]
