"""Fixtures for the worker's tests: a store on both engines, the fake Slack, controlled time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slackkit import make_services
from workerkit import WorkerWorld, worker_settings

from bot.fakeslack import FakeSlack


@pytest.fixture
def world(database_url: str, fake_slack: FakeSlack) -> Iterator[WorkerWorld]:
    """A worker's world on SQLite and on PostgreSQL."""
    settings = worker_settings(database_url, fake_slack)
    services = make_services(settings)
    try:
        yield WorkerWorld(settings, services, fake_slack)
    finally:
        services.close()


@pytest.fixture
def sqlite_world(sqlite_url: str, fake_slack: FakeSlack) -> Iterator[WorkerWorld]:
    """A worker's world on SQLite only (for tests about Slack rather than storage)."""
    settings = worker_settings(sqlite_url, fake_slack)
    services = make_services(settings)
    try:
        yield WorkerWorld(settings, services, fake_slack)
    finally:
        services.close()
