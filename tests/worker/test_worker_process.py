"""``kmbot worker`` as a real process: it delivers a due nudge and what the outbox owes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.devtools.fakeslack import FakeSlack
from bot.outbox import enqueue as outbox
from bot.services.communities import add_community
from bot.services.nudges import bank_holiday
from bot.slack.kit import notice
from storage import db
from storage.models import Council, Member, Post, PostKind, PostStatus

ROOT = Path(__file__).resolve().parents[2]
MARKET = "C0MARKET"
TOKEN = "xoxb-worker"
# kmbot worker decides what is due by the real time, so the test sets slots by it too.
pytestmark = pytest.mark.wall_clock
LONDON = ZoneInfo("Europe/London")
A_WEEK_IN_MINUTES = 7 * 24 * 60


def _latest_working_slot(now: datetime) -> datetime:
    """A minute ago in London, on the latest day that is not a bank holiday in England (nudges
    skip bank holidays): today, unless the test runs on one."""
    slot = (now - timedelta(minutes=1)).astimezone(LONDON)
    for days_back in range(7):
        day = slot - timedelta(days=days_back)  # the same wall-clock time, a day earlier
        if bank_holiday("England", day.date()) is None:
            return day
    raise AssertionError("a week of bank holidays")


class Store:
    """The worker's SQLite database, written to directly by the test."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = db.make_engine(url)
        self.factory = db.make_session_factory(self.engine)
        # Set when a slot had to fall before today: the worker then needs the grace to send it.
        self.grace_minutes: int | None = None

    def due_community(self, channel: str, name: str, area: str) -> None:
        """A community whose weekly slot passed a minute ago in London time (or, on a bank
        holiday, at that time on the last working day)."""
        now = datetime.now(UTC)
        slot = _latest_working_slot(now)
        if now - slot > timedelta(minutes=30):
            self.grace_minutes = A_WEEK_IN_MINUTES
        with self.factory.begin() as session:
            add_community(
                session,
                channel_id=channel,
                name=name,
                area=area,
                weekday=slot.weekday(),
                time_of_day=f"{slot:%H:%M}",
                nation="England",
                now=now - timedelta(days=8),
            )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    db.upgrade(url)
    store = Store(url)
    try:
        yield store
    finally:
        store.engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = FakeSlack(team_id="T0KMBOT", bot_token=TOKEN).start()
    fake.add_channel(MARKET, "km-marketplace")
    for channel, name in (("C0IMCOP", "im-cop"), ("C0CFCOP", "cf-cop")):
        fake.add_channel(channel, name)
    try:
        yield fake
    finally:
        fake.stop()


def _env(store: Store, fake: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KMBOT_"))}
    env.update(
        {
            "DATABASE_URL": store.url,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_API_URL": fake.url,
            "KMBOT_MARKETPLACE_CHANNEL": MARKET,
            "PYTHONPATH": str(ROOT),
        }
    )
    if store.grace_minutes is not None:
        env["KMBOT_NUDGE_GRACE_MINUTES"] = str(store.grace_minutes)
    return env


def _seed(store: Store) -> None:
    now = datetime.now(UTC)
    with store.factory.begin() as session:
        council = Council(name="Devon County Council", short_name="Devon")
        session.add(council)
        session.flush()
        member = Member(
            slack_user_id="U0JO", slack_team_id="T0KMBOT", name="Jo Bloggs", council_id=council.id
        )
        session.add(member)
        session.flush()
        session.add(
            Post(
                kind=PostKind.WANT,
                member_id=member.id,
                council_id=council.id,
                text="A template information asset register",
                area="IM",
                status=PostStatus.OPEN,
                expires_at=now + timedelta(days=60),
            )
        )
        # Something the web process owed Slack but never delivered (it crashed, say).
        outbox.enqueue(
            session,
            kind="notice",
            channel=MARKET,
            payload=notice("Owed by a web process that went away."),
        )


def _owed(fake: FakeSlack) -> list[str]:
    """The message a web process owed, as the marketplace channel received it. (On a Monday
    morning the worker also posts the weekly digest there.)"""
    return [m.text for m in fake.messages(MARKET) if "Owed by a web process" in m.text]


def test_the_worker_process_delivers_a_due_nudge_and_stops_cleanly_on_sigterm(
    store: Store,
    fake: FakeSlack,
    tmp_path: Path,
) -> None:
    _seed(store)
    store.due_community("C0IMCOP", "im-cop", "IM")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "worker",
            "--tick-seconds",
            "0.5",
            "--deliver-seconds",
            "0.5",
        ],
        cwd=tmp_path,
        env=_env(store, fake),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        calls = fake.wait_for(
            "chat.postMessage", timeout=30, where=lambda c: c.params.get("channel") == "C0IMCOP"
        )
        assert len(calls) == 1
        nudge = fake.messages("C0IMCOP")[0]
        body = str(nudge.blocks)
        assert "This week's question for the Information Management community" in body
        assert "A template information asset register" in body and "I can help" in body
        fake.wait_until(
            lambda: _owed(fake),
            timeout=10,
            message="the worker sweeps what others owed Slack",
        )
        assert len(_owed(fake)) == 1

        # A community added while the worker runs is picked up without a restart.
        store.due_community("C0CFCOP", "cf-cop", "CF")
        fake.wait_until(lambda: fake.messages("C0CFCOP"), timeout=30)
        assert len(fake.messages("C0IMCOP")) == 1, "each slot is nudged once"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode == 0, err
    assert "kmbot worker running" in out and "kmbot worker stopped." in out
    assert "Traceback" not in err


def test_worker_once_runs_every_due_job_and_exits(
    store: Store,
    fake: FakeSlack,
    tmp_path: Path,
) -> None:
    _seed(store)
    store.due_community("C0IMCOP", "im-cop", "IM")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--once"],
        cwd=tmp_path,
        env=_env(store, fake),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Nudges: 1 sent, 0 skipped." in done.stdout
    assert len(fake.messages("C0IMCOP")) == 1
    assert len(_owed(fake)) == 1
    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--once"],
        cwd=tmp_path,
        env=_env(store, fake),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0 and "Nudges: 0 sent, 0 skipped." in again.stdout
    assert len(fake.messages("C0IMCOP")) == 1


def test_worker_needs_a_bot_token(store: Store, fake: FakeSlack, tmp_path: Path) -> None:
    env = _env(store, fake)
    del env["SLACK_BOT_TOKEN"]
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "worker", "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "SLACK_BOT_TOKEN" in done.stderr
