"""Shared fixtures: settings, databases (SQLite and PostgreSQL), the fake Slack, the app."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from slackkit import SlackDriver, make_services
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from bot.devtools.fakeslack import FakeSlack
from bot.kernel.settings import Settings
from storage import db
from storage.models import Base

PG_URL = os.environ.get("KMBOT_TEST_DATABASE_URL", "").strip()
# Where every test's clock starts (see ``pinned_clock``): an ordinary summer Wednesday, 11:15 BST.
# Summer, so that what is shown in UK time differs from UTC; no clock change, bank holiday,
# weekly slot (Tuesdays 10:00, the digest on Mondays 09:00) or month end near it.
PINNED_AT = datetime(2027, 6, 16, 10, 15, tzinfo=UTC)
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
TEAM_ID = "T0KMBOT"
MARKET = "C0MARKET"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "wall_clock: runs kmbot in another process, which reads the real time, so the test's own "
        "clock is not pinned; such a test must pass on any day (bench/any_day.sh checks)",
    )


@pytest.fixture(autouse=True)
def pinned_clock(request: pytest.FixtureRequest) -> Iterator[datetime | None]:
    """Every test starts at ``PINNED_AT``, whatever today is: ``datetime.now``, ``time.time``
    and so kmbot's clock (``bot.kernel.clock.utcnow``) read it, and it ticks on from there, so
    timeouts, retries and ordering behave. A test that needs another instant moves there with
    ``time_machine.travel`` or passes ``now=`` to the service.

    Tests marked ``wall_clock`` (they start kmbot as a subprocess, which cannot be pinned) and
    the browser tests (the sandbox has its own clock) keep the real time, as does every test
    when KMBOT_TEST_WALL_CLOCK=1 (to see which tests would depend on the day:
    ``KMBOT_TEST_WALL_CLOCK=1 bench/any_day.sh``).
    """
    if (
        request.node.get_closest_marker("wall_clock")
        or request.node.get_closest_marker("browser")
        or "browser" in request.node.path.parts
        or os.environ.get("KMBOT_TEST_WALL_CLOCK") == "1"
    ):
        yield None
        return
    with time_machine.travel(PINNED_AT, tick=True):
        yield PINNED_AT


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database, copied for each test (migrating once is much quicker)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_ready() -> Iterator[str]:
    """A PostgreSQL database of this run's own (so parallel runs never collide), migrated once."""
    if not PG_URL:
        pytest.skip("KMBOT_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    from sqlalchemy.engine import make_url

    from bot.kernel.settings import normalise_database_url

    base = make_url(normalise_database_url(PG_URL))
    name = f"kmbot_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = db.make_engine(
        base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        db.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fresh_sqlite(template: Path, tmp_path: Path) -> str:
    path = tmp_path / "kmbot.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def _truncate_pg(url: str) -> None:
    engine = db.make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A clean, migrated database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return _fresh_sqlite(sqlite_template, tmp_path)
    url = request.getfixturevalue("pg_ready")
    _truncate_pg(url)
    return url


@pytest.fixture
def pg_url(pg_ready: str) -> str:
    """A clean PostgreSQL database (skipped when none is configured)."""
    _truncate_pg(pg_ready)
    return pg_ready


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A clean, migrated SQLite database (for tests about Slack rather than storage)."""
    return _fresh_sqlite(sqlite_template, tmp_path)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """Our fake Slack Web API on an ephemeral loopback port."""
    fake = FakeSlack(team_id=TEAM_ID, bot_token=BOT_TOKEN).start()
    fake.add_channel(MARKET, "km-marketplace")
    try:
        yield fake
    finally:
        fake.stop()


def make_settings(database_url: str, fake: FakeSlack | None = None, **changes: object) -> Settings:
    """Settings for a test: its own database, the fake Slack, a known signing secret."""
    return Settings(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.url if fake else "http://127.0.0.1:9/api/",
        marketplace_channel=MARKET,
    ).with_(**changes)


@pytest.fixture
def settings(sqlite_url: str, fake_slack: FakeSlack) -> Settings:
    """Test settings on SQLite with the fake Slack."""
    return make_settings(sqlite_url, fake_slack)


@pytest.fixture
def slack(settings: Settings, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    """The real Bolt app, driven by signed requests, talking to the fake Slack."""
    services = make_services(settings)
    driver = SlackDriver(settings, services, fake_slack, SIGNING_SECRET)
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture
def pg_slack(database_url: str, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    """As ``slack``, but on both database engines."""
    settings = make_settings(database_url, fake_slack)
    services = make_services(settings)
    driver = SlackDriver(settings, services, fake_slack, SIGNING_SECRET)
    try:
        yield driver
    finally:
        driver.close()
