"""Signed slash commands over HTTP to a ``kmbot serve`` process, as Slack sends them."""

from __future__ import annotations

import time
import urllib.request
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.devtools.fakeslack import FakeSlack

MARKET = "C0MARKET"


def send_slash(port: int, secret: str, fake: FakeSlack, user: str, command: str, text: str) -> int:
    """POST a signed slash command (with a response URL and trigger at the fake); the status."""
    body = urlencode(
        {
            "team_id": "T0KMBOT",
            "channel_id": MARKET,
            "user_id": user,
            "command": command,
            "text": text,
            "api_app_id": "A0KMBOT",
            "response_url": fake.new_response_url(user=user, channel=MARKET),
            "trigger_id": fake.new_trigger_id(user=user),
        }
    )
    ts = str(int(time.time()))
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(
                timestamp=ts, body=body
            ),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        return int(resp.status)
