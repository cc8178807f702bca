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
