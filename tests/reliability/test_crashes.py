"""Crashes: SIGKILL the web process and the worker while a Slack call is in flight; after a restart
everything owed is delivered, and nothing twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.devtools.fakeslack import FakeSlack
from bot.outbox import enqueue as outbox
from reliability.http_slack import send_slash
from reliability.ledger import reconcile
from reliability.reliability_figures import engine_of, record
from storage import db
from storage.models import OutboxMessage

ROOT = Path(__file__).resolve().parents[2]
SECRET = "crash-signing-secret"
TOKEN = "xoxb-crash"
MARKET = "C0MARKET"
# kmbot runs in its own processes, on the real time: requests are signed with it.
pytestmark = [pytest.mark.slow, pytest.mark.wall_clock]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack(team_id="T0KMBOT", bot_token=TOKEN).start()
    fake.add_channel(MARKET, "km-marketplace")
    fake.add_channel("C0IMCOP", "im-cop")
    fake.add_user("U0DEVON", name="jo", real_name="Jo Bloggs", email="jo.bloggs@devon.gov.uk")
    try:
        yield fake
    finally:
        fake.stop()


def _env(database_url: str, fake: FakeSlack, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KMBOT_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.url,
            "KMBOT_MARKETPLACE_CHANNEL": MARKET,
            "PORT": str(port),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _healthy(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            assert proc.poll() is None, "kmbot serve exited"
            assert time.monotonic() < deadline, "kmbot serve did not become healthy"
            time.sleep(0.05)


def _slash(port: int, fake: FakeSlack, text: str) -> int:
    return send_slash(port, SECRET, fake, "U0DEVON", "/offer", text)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _wait_owed(database_url: str, owed: int, timeout: float = 15.0) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with factory() as session:
                if session.query(OutboxMessage).count() >= owed:
                    return
            assert time.monotonic() < deadline, "the commands were not stored"
            time.sleep(0.05)
    finally:
        engine.dispose()


def _wait_delivered(database_url: str, fake: FakeSlack, owed: int, timeout: float = 45.0) -> float:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    started = time.monotonic()
    try:
        while True:
            ledger = reconcile(factory, fake)
            if ledger.owed >= owed and not ledger.not_sent:
                return time.monotonic() - started
            assert time.monotonic() - started < timeout, f"still owed: {ledger.not_sent}"
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_web_process_killed_mid_delivery_loses_and_doubles_nothing(
    database_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    port = _free_port()
    env = _env(database_url, fake, port)
    # Every post lands in Slack but its answer never comes back in time: the kill lands mid-call.
    fake.set_faults(rate=1.0, kinds=("slow",), slow_seconds=60, methods={"chat.postMessage"})
    web = _start(["serve", "--host", "127.0.0.1"], env, tmp_path)
    try:
        _healthy(port, web)
        for n in range(3):
            assert _slash(port, fake, f"Our records retention schedule, version {n}") == 200
            if n == 0:  # joined first (see test_races' known bug about joining from two devices)
                _wait_owed(database_url, 1)
        # The commands are acknowledged at once and stored just after: wait until they are (a kill
        # in between loses the command itself, which the member saw no confirmation of).
        _wait_owed(database_url, 3)
        fake.wait_until(lambda: len(fake.messages(MARKET)) >= 1, timeout=15)
        _kill(web)
        fake.clear_faults()
        in_flight = len(fake.messages(MARKET))
        web = _start(["serve", "--host", "127.0.0.1"], env, tmp_path)
        _healthy(port, web)
        took = _wait_delivered(database_url, fake, owed=3)
        engine = db.make_engine(database_url)
        ledger = reconcile(db.make_session_factory(engine), fake)
        engine.dispose()
        assert ledger.lost == [] and ledger.duplicated == [] and ledger.posted == 3
        assert len(fake.messages(MARKET)) == 3
    finally:
        _kill(web)
    record(
        f"web process SIGKILL ({engine_of(database_url)})",
        crashes=1,
        messages_owed=3,
        in_flight_at_kill=in_flight,
        delivered=ledger.posted,
        seconds_to_recover=round(took, 1),
        lost=len(ledger.lost),
        duplicated=len(ledger.duplicated),
    )


def test_worker_killed_mid_delivery_loses_and_doubles_nothing(
    database_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    env = _env(database_url, fake, _free_port())
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    with factory.begin() as session:
        for n in range(5):
            outbox.enqueue(
                session,
                kind="nudge",
                channel="C0IMCOP",
                payload={"text": f"Weekly nudge {n}"},
                dedupe_key=f"crash-nudge:{n}",
            )
    engine.dispose()
    fake.set_faults(rate=1.0, kinds=("slow",), slow_seconds=60, methods={"chat.postMessage"})
    args = ["worker", "--deliver-seconds", "0.5", "--tick-seconds", "60"]
    worker = _start(args, env, tmp_path)
    try:
        fake.wait_until(lambda: len(fake.messages("C0IMCOP")) >= 1, timeout=20)
        _kill(worker)
        fake.clear_faults()
        in_flight = len(fake.messages("C0IMCOP"))
        worker = _start(args, env, tmp_path)
        took = _wait_delivered(database_url, fake, owed=5)
        engine = db.make_engine(database_url)
        ledger = reconcile(db.make_session_factory(engine), fake)
        engine.dispose()
        # On a Monday morning the worker also owes the weekly digest: it must arrive once too.
        # Its tick then delivers beside the outbox sweep, two passes at once, so the nudges may
        # land in another order; none is lost or doubled.
        digests = ledger.kinds.get("digest", 0)
        assert ledger.lost == [] and ledger.duplicated == [] and ledger.posted == 5 + digests
        texts = [m.text for m in fake.messages("C0IMCOP")]
        assert sorted(texts) == [f"Weekly nudge {n}" for n in range(5)]
    finally:
        _kill(worker)
    record(
        f"worker SIGKILL ({engine_of(database_url)})",
        crashes=1,
        messages_owed=5,
        in_flight_at_kill=in_flight,
        delivered=ledger.posted,
        seconds_to_recover=round(took, 1),
        lost=len(ledger.lost),
        duplicated=len(ledger.duplicated),
    )
