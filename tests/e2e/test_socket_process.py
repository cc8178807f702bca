"""End to end: ``kmbot socket`` as a real process, over our own Socket Mode server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from socketmode import SocketModeServer

from bot.devtools.fakeslack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
MARKET = "C0MARKET"
# kmbot socket runs in its own process, on the real time.
pytestmark = pytest.mark.wall_clock


def test_a_slash_command_over_socket_mode_posts_the_card(tmp_path: Path) -> None:
    fake = FakeSlack(team_id="T0KMBOT", bot_token="xoxb-sock").start()
    fake.add_channel(MARKET, "km-marketplace")
    fake.add_user("U0DEVON", name="jo", real_name="Jo Bloggs", email="jo.bloggs@devon.gov.uk")
    ws = SocketModeServer()
    fake.add_token("xapp-sock", "UKMBOT")
    fake.add_method("apps.connections.open", lambda params, actor: {"url": ws.url})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KMBOT_"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sock.sqlite3'}",
            "SLACK_BOT_TOKEN": "xoxb-sock",
            "SLACK_APP_TOKEN": "xapp-sock",
            "SLACK_API_URL": fake.url,
            "KMBOT_MARKETPLACE_CHANNEL": MARKET,
            "PYTHONPATH": str(ROOT),
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "socket"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert ws.connected.wait(20), "kmbot socket never connected"
        ws.send(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": "T0KMBOT",
                    "channel_id": MARKET,
                    "user_id": "U0DEVON",
                    "command": "/offer",
                    "text": "Our IAR template, with a payload of guidance",
                    "api_app_id": "A0KMBOT",
                    "response_url": fake.new_response_url(user="U0DEVON", channel=MARKET),
                    "trigger_id": fake.new_trigger_id(user="U0DEVON"),
                },
            }
        )
        ws.wait_for_ack("env-1")
        fake.wait_until(lambda: len(fake.messages(MARKET)) == 1, timeout=15)
        card = fake.messages(MARKET)[0]
        assert "Devon County Council" in str(card.blocks) and "IAR template" in str(card.blocks)
    finally:
        if proc.poll() is not None:
            print(proc.stderr.read() if proc.stderr else "")
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        ws.close()
        fake.stop()


def test_a_refused_app_token_is_explained(tmp_path: Path) -> None:
    fake = FakeSlack(team_id="T0KMBOT", bot_token="xoxb-sock").start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KMBOT_"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'sock.sqlite3'}",
            "SLACK_BOT_TOKEN": "xoxb-sock",
            "SLACK_APP_TOKEN": "xapp-wrong",
            "SLACK_API_URL": fake.url,
            "PYTHONPATH": str(ROOT),
        }
    )
    try:
        res = subprocess.run(
            [sys.executable, "-m", "bot.cli", "socket"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        fake.stop()
    assert res.returncode == 2
    assert "Slack refused the request" in res.stderr and "SLACK_APP_TOKEN" in res.stderr
    assert "Traceback" not in res.stderr
