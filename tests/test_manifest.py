"""The Slack app manifest matches what the app listens for, and the README describes it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.slack import ids

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text())
README = (ROOT / "README.md").read_text()


def test_commands_are_the_ones_the_app_handles() -> None:
    commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert commands == {ids.CMD_WANT, ids.CMD_OFFER, ids.CMD_KM, ids.CMD_ADMIN}
    for c in MANIFEST["features"]["slash_commands"]:
        assert c["url"].endswith("/slack/events")
        # Posts keep the text as typed (we escape it ourselves on output); /km-admin names
        # people and channels, which Slack then sends as ids.
        assert c["should_escape"] is (c["command"] == ids.CMD_ADMIN)


def test_interactivity_events_and_home() -> None:
    settings = MANIFEST["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["interactivity"]["message_menu_options_url"].endswith("/slack/events")
    assert "app_home_opened" in settings["event_subscriptions"]["bot_events"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


def test_scopes_cover_the_web_api_methods_the_bot_calls() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = {
        "commands",
        "chat:write",
        "channels:history",
        "im:write",
        "users:read",
        "users:read.email",
        "files:write",
        "channels:join",
        "channels:read",
    }
    assert needed <= scopes


def test_readme_setup_section_names_every_command_and_scope() -> None:
    section = README.split("## Setting up the Slack app", 1)[1].split("\n## ", 1)[0]
    for c in MANIFEST["features"]["slash_commands"]:
        assert f"`{c['command']}`" in section
    for scope in MANIFEST["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in section, scope
    for var in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "KMBOT_MARKETPLACE_CHANNEL",
        "KMBOT_FACILITATORS",
    ):
        assert var in section
    assert re.search(r"`/slack/events`", section) and "/healthz" in section


# ---- shortcuts ----


def test_shortcuts_are_the_ones_the_app_handles() -> None:
    from slack_bolt.request import BoltRequest

    from bot.app import create_app
    from bot.container import build_container
    from bot.kernel.settings import Settings

    shortcuts = MANIFEST["features"]["shortcuts"]
    declared = {(s["callback_id"], s["type"]) for s in shortcuts}
    assert declared == {
        (ids.SC_POST_FROM_MESSAGE, "message"),
        (ids.SC_POST_GLOBAL, "global"),
        (ids.SC_REPORT, "message"),
    }
    for s in shortcuts:
        # Slack's limits: a name of at most 24 characters, a description of at most 150.
        assert 0 < len(s["name"]) <= 24 and 0 < len(s["description"]) <= 150, s
    # The app has a listener for each: a shortcut body of each callback id finds one.
    settings = Settings(database_url="sqlite://", slack_signing_secret="x", slack_bot_token="x")
    container = build_container(settings)
    try:
        app = create_app(settings, container)
        handled = set()
        for listener in app._listeners:  # Bolt keeps its listeners here
            for callback_id, kind in declared:
                body = {
                    "type": "message_action" if kind == "message" else "shortcut",
                    "callback_id": callback_id,
                }
                request = BoltRequest(body=body, mode="socket_mode")
                if all(m.matches(request, None) for m in listener.matchers):  # type: ignore[arg-type]
                    handled.add(callback_id)
        assert handled == {callback_id for callback_id, _ in declared}
    finally:
        container.close()


def test_the_sandbox_offers_the_manifests_shortcuts() -> None:
    from bot.devtools.sandbox.server import SHORTCUTS

    offered = sorted((s["callback_id"], s["type"], s["name"]) for s in SHORTCUTS)
    declared = [(s["callback_id"], s["type"], s["name"]) for s in MANIFEST["features"]["shortcuts"]]
    assert offered == sorted(declared)
