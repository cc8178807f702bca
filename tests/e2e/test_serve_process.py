"""End to end: ``kmbot serve`` as a real process, signed HTTP over loopback, the fake Slack."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.devtools.fakeslack import FakeSlack

SECRET = "e2e-signing-secret"
MARKET = "C0MARKET"
ROOT = Path(__file__).resolve().parents[2]
# kmbot serve reads the real time, so this test does too: it signs with time.time().
pytestmark = pytest.mark.wall_clock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running ``kmbot serve`` and how to talk to it."""

    def __init__(self, base: str, fake: FakeSlack, proc: subprocess.Popen[str]) -> None:
        self.base, self.fake, self.proc = base, fake, proc
        self.verifier = SignatureVerifier(SECRET)

    def post(
        self, body: str, ctype: str, *, secret: str | None = None, timestamp: int | None = None
    ) -> tuple[int, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = SignatureVerifier(secret or SECRET).generate_signature(timestamp=ts, body=body)
        req = urllib.request.Request(
            self.base + "/slack/events",
            data=body.encode(),
            method="POST",
            headers={
                "Content-Type": ctype,
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sig,
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def slash(self, user: str, command: str, text: str, **kw: object) -> tuple[int, str]:
        body = urlencode(
            {
                "team_id": "T0KMBOT",
                "channel_id": MARKET,
                "user_id": user,
                "command": command,
                "text": text,
                "response_url": self.fake.new_response_url(user=user, channel=MARKET),
                "trigger_id": self.fake.new_trigger_id(user=user),
                "api_app_id": "A0KMBOT",
            }
        )
        return self.post(body, "application/x-www-form-urlencoded", **kw)  # type: ignore[arg-type]


def _procfile(kind: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{kind}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"Procfile has no {kind} line")


@pytest.fixture(params=["kmbot serve", "Procfile web"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    fake = FakeSlack(team_id="T0KMBOT", bot_token="xoxb-e2e").start()
    fake.add_channel(MARKET, "km-marketplace")
    fake.add_user("U0DEVON", name="jo", real_name="Jo Bloggs", email="jo.bloggs@devon.gov.uk")
    fake.add_user("U0LEWIS", name="sam", real_name="Sam Patel", email="sam.patel@lewisham.gov.uk")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KMBOT_"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'e2e.sqlite3'}",
            "SLACK_BOT_TOKEN": "xoxb-e2e",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.url,
            "KMBOT_MARKETPLACE_CHANNEL": MARKET,
            "PORT": str(port),
            "PYTHONPATH": str(ROOT),
        }
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    if request.param == "kmbot serve":
        cmd: list[str] | str = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"]
    else:
        # Exactly what the platform runs; the embedded database is upgraded first, as the
        # Procfile's release step would.
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "upgrade"],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
        )
        cmd = _procfile("web")
    # The Procfile's web process only acknowledges: its posting process publishes.
    helpers = (
        [
            subprocess.Popen(
                _procfile("posting"),
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                shell=True,
                start_new_session=True,
            )
        ]
        if request.param == "Procfile web"
        else []
    )
    proc = subprocess.Popen(
        cmd,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        shell=isinstance(cmd, str),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(f"kmbot serve exited: {proc.stderr.read()}") from None
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("kmbot serve did not become healthy") from None
            time.sleep(0.05)
    try:
        yield Server(base, fake, proc)
    finally:
        for running in (proc, *helpers):
            os.killpg(running.pid, signal.SIGTERM)
            try:
                running.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(running.pid, signal.SIGKILL)
        fake.stop()


def test_health_check_reports_the_database(server: Server) -> None:
    with urllib.request.urlopen(server.base + "/healthz", timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "ok" and body["database"] == "ok"


def test_offer_and_matching_want_are_introduced_in_the_wants_thread(server: Server) -> None:
    status, _ = server.slash("U0DEVON", "/offer", "Information asset register (IAR) template")
    assert status == 200
    server.fake.wait_until(lambda: len(server.fake.messages(MARKET)) == 1, timeout=10)
    status, _ = server.slash("U0LEWIS", "/want", "Setting up an information asset register")
    assert status == 200
    server.fake.wait_until(lambda: len(server.fake.messages(MARKET)) == 2, timeout=10)
    want_card = server.fake.messages(MARKET)[1]
    server.fake.wait_until(lambda: len(server.fake.thread(MARKET, want_card.ts)) == 1, timeout=10)
    intro = server.fake.thread(MARKET, want_card.ts)[0]
    text = json.dumps(intro.blocks)
    assert "<@U0DEVON>" in text and "<@U0LEWIS>" in text
    assert "Devon County Council" in text and "London Borough of Lewisham" in text


def test_forged_signature_is_refused_and_stores_nothing(server: Server) -> None:
    status, _ = server.slash("U0DEVON", "/offer", "Forged offer", secret="not-the-secret")
    assert status == 401
    status, _ = server.slash("U0DEVON", "/offer", "Stale offer", timestamp=int(time.time()) - 3600)
    assert status == 401
    # A genuine request afterwards is the first post: nothing was stored before it.
    status, _ = server.slash("U0DEVON", "/offer", "Genuine offer of our IAR template")
    assert status == 200
    server.fake.wait_until(lambda: len(server.fake.messages(MARKET)) == 1, timeout=10)
    assert "Offer #1" in json.dumps(server.fake.messages(MARKET)[0].blocks)
    assert not any("Forged" in json.dumps(m.blocks) for m in server.fake.messages(MARKET))


def test_unknown_paths_and_methods(server: Server) -> None:
    for path, method, expected in (("/nope", "GET", 404), ("/slack/events", "GET", 405)):
        req = urllib.request.Request(server.base + path, method=method)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == expected
