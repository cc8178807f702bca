"""The worker's test world: a store, the fake Slack and the worker's services, time in hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slackkit import TEAM_ID, make_services
from sqlalchemy import select

from bot.container import Container
from bot.devtools.fakeslack import FakeSlack, Message
from bot.kernel.settings import Settings
from bot.services.communities import add_community
from bot.services.nudges import NudgeOutcome, run_due_nudges
from storage.models import (
    CommunityOfPractice,
    Council,
    Introduction,
    IntroductionStatus,
    Member,
    NudgeRun,
    OutboxMessage,
    Post,
    PostKind,
    PostStatus,
)

BOT_TOKEN = "xoxb-test"
MARKET = "C0MARKET"
IM_CHANNEL = "C0IMCOP"
CF_CHANNEL = "C0CFCOP"


def utc(*args: int) -> datetime:
    """A UTC datetime, briefly."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class WorkerWorld:
    """A store, the fake Slack and the worker's services, with time in the test's hands."""

    def __init__(self, settings: Settings, services: Container, fake: FakeSlack) -> None:
        self.settings = settings
        self.services = services
        self.fake = fake
        self._councils = 0

    # ------------------------------------------------------------ making things
    def council(self, name: str) -> int:
        """A council; returns its id."""
        with self.services.session_factory.begin() as session:
            council = Council(name=name, short_name=name)
            session.add(council)
            session.flush()
            return council.id

    def member(self, user_id: str, council_id: int, name: str = "A Member") -> int:
        """A member of a council, known to the fake Slack; returns the member's id."""
        self.fake.add_user(
            user_id,
            name=name.lower().replace(" ", "."),
            real_name=name,
            email=f"{user_id.lower()}@example.gov.uk",
            team_id=TEAM_ID,
        )
        with self.services.session_factory.begin() as session:
            member = Member(
                slack_user_id=user_id,
                slack_team_id=TEAM_ID,
                name=name,
                email=f"{user_id.lower()}@example.gov.uk",
                council_id=council_id,
            )
            session.add(member)
            session.flush()
            return member.id

    def post(
        self,
        member_id: int,
        text: str,
        *,
        kind: PostKind = PostKind.WANT,
        area: str | None = "IM",
        created_at: datetime,
        expiry_days: int = 90,
    ) -> int:
        """An open post stored directly (no card); returns its id."""
        with self.services.session_factory.begin() as session:
            member = session.get(Member, member_id)
            assert member is not None and member.council_id is not None
            post = Post(
                kind=kind,
                member_id=member_id,
                council_id=member.council_id,
                text=text,
                area=area,
                status=PostStatus.OPEN,
                created_at=created_at,
                refreshed_at=created_at,
                changed_at=created_at,
                expires_at=created_at + timedelta(days=expiry_days),
            )
            session.add(post)
            session.flush()
            return post.id

    def confirm(self, want_id: int, offer_id: int) -> None:
        """A confirmed introduction between a want and an offer."""
        with self.services.session_factory.begin() as session:
            session.add(
                Introduction(
                    want_id=want_id,
                    offer_id=offer_id,
                    score=80,
                    reasons=[],
                    status=IntroductionStatus.CONFIRMED,
                )
            )

    def community(
        self,
        channel_id: str = IM_CHANNEL,
        name: str = "im-cop",
        *,
        area: str = "IM",
        weekday: int = 1,
        time_of_day: str = "10:00",
        nation: str = "England",
        timezone: str = "Europe/London",
        created: datetime | None = None,
    ) -> int:
        """A community of practice (Tuesdays 10:00 London by default); returns its id."""
        self.fake.add_channel(channel_id, name)
        with self.services.session_factory.begin() as session:
            community = add_community(
                session,
                channel_id=channel_id,
                name=name,
                area=area,
                weekday=weekday,
                time_of_day=time_of_day,
                timezone=timezone,
                nation=nation,
                now=created or utc(2027, 1, 8),  # the Friday before the tests' first slot
            )
            return community.id

    # ------------------------------------------------------------ running the worker
    def run(self, now: datetime) -> list[NudgeOutcome]:
        """One tick of the nudge job at ``now``, then deliver what it owed."""
        outcomes = run_due_nudges(self.services.session_factory, settings=self.settings, now=now)
        self.deliver()
        return outcomes

    def deliver(self) -> None:
        """Deliver the outbox to the fake Slack (real time: delivery has no schedule)."""
        assert self.services.deliverer is not None
        self.services.deliverer.deliver_due()

    # ------------------------------------------------------------ looking
    def messages(self, channel: str) -> list[Message]:
        """What the fake Slack received in a channel."""
        return self.fake.messages(channel)

    def runs(self, community_id: int) -> list[NudgeRun]:
        """The community's recorded runs, oldest slot first."""
        with self.services.session_factory() as session:
            return list(
                session.scalars(
                    select(NudgeRun)
                    .where(NudgeRun.community_id == community_id)
                    .order_by(NudgeRun.slot)
                )
            )

    def outbox(self, kind: str) -> list[OutboxMessage]:
        """Outbox rows of one kind."""
        with self.services.session_factory() as session:
            return list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))

    def get_community(self, community_id: int) -> CommunityOfPractice:
        """A community as stored now."""
        with self.services.session_factory() as session:
            found = session.get(CommunityOfPractice, community_id)
            assert found is not None
            return found


def text_of(message: Message) -> str:
    """Everything a person would read in a message: its blocks' text."""
    return str(message.blocks)


def worker_settings(database_url: str, fake: FakeSlack, **changes: object) -> Settings:
    """Settings for a worker test (as tests/conftest.py's make_settings)."""
    return Settings(
        database_url=database_url,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="unused",
        slack_api_url=fake.url,
        marketplace_channel=MARKET,
    ).with_(**changes)


# Fixtures live here, not in a conftest.py: a second conftest module would shadow
# tests/conftest.py for the tests that import from it. Test modules import them by name.
@pytest.fixture(name="world")
def world_fixture(database_url: str, fake_slack: FakeSlack) -> Iterator[WorkerWorld]:
    """A worker's world on SQLite and on PostgreSQL."""
    settings = worker_settings(database_url, fake_slack)
    services = make_services(settings)
    try:
        yield WorkerWorld(settings, services, fake_slack)
    finally:
        services.close()
