"""Driving the real Bolt app as Slack would: signed requests, realistic payloads, waiting."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

from slack_bolt import BoltResponse
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from slack_sdk.signature import SignatureVerifier

from bot.app import create_web
from bot.container import Container, build_container
from bot.devtools.fakeslack import FakeSlack, as_slack_sends_typed_text
from bot.kernel.settings import Settings
from bot.outbox.delivery import Deliverer, make_client
from storage.models import OutboxMessage, OutboxStatus

TEAM_ID = "T0KMBOT"


class TrackingExecutor(ThreadPoolExecutor):
    """A listener pool that can tell when every listener has finished."""

    def __init__(self) -> None:
        super().__init__(max_workers=8, thread_name_prefix="bolt-test")
        self._busy = 0
        self._lock = threading.Lock()
        self.errors: list[BaseException] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:  # noqa: D102
        with self._lock:
            self._busy += 1
        future = super().submit(fn, *args, **kwargs)

        def done(f: Future[Any]) -> None:
            if f.exception() is not None:
                self.errors.append(f.exception())  # type: ignore[arg-type]
            with self._lock:
                self._busy -= 1

        future.add_done_callback(done)
        return future

    @property
    def idle(self) -> bool:
        """No listener is running."""
        with self._lock:
            return self._busy == 0


def make_services(settings: Settings) -> Container:
    """Container for a test, with a deliverer that backs off quickly."""
    services = build_container(settings)
    client = make_client(settings.slack_bot_token, settings.slack_api_url, timeout=2)
    services.deliverer = Deliverer(
        client, services.session_factory, backoff_base=0.05, backoff_cap=0.5
    )
    return services


def validate_blocks(blocks: list[dict[str, Any]] | None) -> None:
    """Every block parses with slack_sdk.models and passes its validation."""
    assert blocks, "expected Block Kit blocks"
    for block in Block.parse_all(blocks):
        assert block is not None
        block.validate_json()


def validate_view(view: dict[str, Any]) -> None:
    """A modal or Home view validates with slack_sdk.models."""
    View(**view).validate_json()


class SlackDriver:
    """Sends signed requests to the real app in-process, and waits for its work to finish."""

    def __init__(
        self, settings: Settings, services: Container, fake: FakeSlack, signing_secret: str
    ) -> None:
        self.settings = settings
        self.services = services
        self.fake = fake
        self.executor = TrackingExecutor()
        # Work handed on after the ack is tracked too, so settle() waits for it.
        services.work_pool = self.executor
        self.web = create_web(settings, services, listener_executor=self.executor)
        self.verifier = SignatureVerifier(signing_secret)

    def close(self) -> None:
        """Finish work and release everything."""
        self.executor.shutdown(wait=True)
        self.services.work_pool = None
        self.services.close()

    # ------------------------------------------------------------ users
    def user(self, user_id: str, name: str, email: str | None) -> str:
        """A workspace member known to the fake Slack."""
        self.fake.add_user(
            user_id,
            name=name.lower().replace(" ", "."),
            real_name=name,
            email=email,
            team_id=TEAM_ID,
        )
        return user_id

    # ------------------------------------------------------------ requests
    def signed_headers(
        self, body: str, content_type: str, timestamp: int | None = None
    ) -> dict[str, str]:
        """Headers Slack would send, signed with the app's signing secret."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": self.verifier.generate_signature(timestamp=ts, body=body),
        }

    def send(self, body: str, content_type: str, **kw: Any) -> BoltResponse:
        """Dispatch a raw body with valid signature headers."""
        return self.web.dispatch(body, self.signed_headers(body, content_type, **kw))

    def slash(
        self, user: str, command: str, text: str = "", channel: str = "C0MARKET"
    ) -> BoltResponse:
        """A slash command as Slack posts it."""
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "team_domain": "kmnetwork",
                "channel_id": channel,
                "channel_name": "km-marketplace",
                "user_id": user,
                "user_name": user.lower(),
                "command": command,
                "text": as_slack_sends_typed_text(text),
                "api_app_id": "A0KMBOT",
                "is_enterprise_install": "false",
                "response_url": self.fake.new_response_url(user=user, channel=channel),
                "trigger_id": self.fake.new_trigger_id(user=user),
            }
        )
        return self.send(body, "application/x-www-form-urlencoded")

    def interaction(self, payload: dict[str, Any]) -> BoltResponse:
        """An interactivity payload (form-encoded ``payload=``)."""
        body = urlencode({"payload": json.dumps(payload)})
        return self.send(body, "application/x-www-form-urlencoded")

    def click(
        self,
        user: str,
        action_id: str,
        value: str,
        *,
        message_ts: str | None = None,
        channel: str = "C0MARKET",
        view: dict[str, Any] | None = None,
    ) -> BoltResponse:
        """A button click (block_actions) on a message, or on App Home when ``view`` is given."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0KMBOT",
            "token": "legacy",
            "team": {"id": TEAM_ID, "domain": "kmnetwork"},
            "trigger_id": self.fake.new_trigger_id(user=user),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b1",
                    "value": value,
                    "text": {"type": "plain_text", "text": "button"},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0HOME")}
        else:
            ts = message_ts or "1700000000.000100"
            payload["channel"] = {"id": channel, "name": "km-marketplace"}
            payload["container"] = {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["message"] = {"type": "message", "ts": ts, "text": ""}
            payload["response_url"] = self.fake.new_response_url(
                user=user, channel=channel, message_ts=ts
            )
        return self.interaction(payload)

    def submit(
        self, user: str, view: dict[str, Any], values: dict[str, dict[str, Any]]
    ) -> BoltResponse:
        """Submit a modal that the bot opened, with state values keyed by block and action id."""
        submitted = dict(view)
        submitted.setdefault("id", "V0MODAL")
        submitted["state"] = {"values": values}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "kmnetwork"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0KMBOT",
            "token": "legacy",
            "trigger_id": self.fake.new_trigger_id(user=user),
            "view": submitted,
        }
        return self.interaction(payload)

    def options(self, user: str, action_id: str, value: str) -> BoltResponse:
        """A block_suggestion request from an external select as someone types."""
        payload = {
            "type": "block_suggestion",
            "user": {"id": user, "team_id": TEAM_ID},
            "team": {"id": TEAM_ID},
            "api_app_id": "A0KMBOT",
            "action_id": action_id,
            "block_id": "council_block",
            "value": value,
            "view": {"id": "V0JOIN", "type": "modal"},
        }
        return self.interaction(payload)

    def event(self, event: dict[str, Any]) -> BoltResponse:
        """An Events API callback carrying ``event`` (given its ``event_ts``), as Slack posts it."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": "A0KMBOT",
                "type": "event_callback",
                "event_id": f"Ev{time.time_ns()}",
                "event_time": int(time.time()),
                "event": {**event, "event_ts": f"{time.time():.6f}"},
                "authorizations": [{"team_id": TEAM_ID, "user_id": "UKMBOT", "is_bot": True}],
            }
        )
        return self.send(body, "application/json")

    def home_opened(self, user: str) -> BoltResponse:
        """The app_home_opened event."""
        return self.event(
            {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"}
        )

    # ------------------------------------------------------------ waiting
    def settle(self, timeout: float = 10.0) -> None:
        """Wait for every listener to finish and the outbox to be delivered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.executor.idle:
                assert self.services.deliverer is not None
                self.services.deliverer.deliver_due()
                if self.executor.idle and self.outbox_pending() == 0:
                    break
            time.sleep(0.01)
        else:
            raise AssertionError(f"still busy after {timeout}s: {self.outbox_pending()} pending")
        if self.executor.errors:
            raise AssertionError(f"a listener raised: {self.executor.errors[0]!r}")

    def outbox_pending(self) -> int:
        """Messages still owed to Slack."""
        with self.services.session_factory() as session:
            return (
                session.query(OutboxMessage)
                .filter(OutboxMessage.status == OutboxStatus.PENDING)
                .count()
            )

    # ------------------------------------------------------------ convenience
    def last_modal(self) -> dict[str, Any]:
        """The view of the most recent views.open call."""
        views = self.fake.views_opened()
        assert views, "no modal was opened"
        return views[-1]
