"""Races: members posting at once, one member on two devices, the same pair introduced twice at
once. Each thread has its own session, as Bolt's listener threads and web processes do."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slackkit import make_services
from sqlalchemy import func, select

from bot.container import Container
from bot.devtools.fakeslack import FakeSlack
from bot.kernel.errors import InvalidInput, PostLimitReached
from bot.services.introductions import offer_help
from bot.services.posting import publish_post
from reliability.ledger import TOPICS
from reliability.reliability_figures import engine_of, record
from storage.models import Council, Introduction, Member, Post, PostKind, PostStatus


@pytest.fixture
def services(database_url: str, fake_slack: FakeSlack) -> Iterator[Container]:
    from reliability.ledger import settings_for

    built = make_services(settings_for(database_url, fake_slack))
    try:
        yield built
    finally:
        built.close()


def _members(services: Container, count: int) -> list[int]:
    with services.session_factory.begin() as session:
        ids = []
        for n in range(count):
            council = Council(name=f"Race Council {n}", short_name=f"Race {n}")
            session.add(council)
            session.flush()
            member = Member(
                slack_user_id=f"U0RACE{n:02d}",
                slack_team_id="T0KMBOT",
                name=f"Racer {n}",
                council_id=council.id,
            )
            session.add(member)
            session.flush()
            ids.append(member.id)
        return ids


def _all_at_once(jobs: list[Callable[[], Any]], timeout: float = 45.0) -> list[Any]:
    """Run every job in its own thread, released together; each result or exception."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except Exception as exc:  # collected and judged by the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        assert not t.is_alive(), "a racing thread did not finish in time"
    return results


def _publish(services: Container, member_id: int, kind: PostKind, text: str) -> Callable[[], int]:
    def job() -> int:
        with services.session_factory.begin() as session:
            member = session.get(Member, member_id)
            assert member is not None
            return publish_post(
                session, member, kind, text, settings=services.settings, matcher=services.live_index
            ).post.id

    return job


def test_one_member_on_two_devices_cannot_pass_the_cap(services: Container) -> None:
    (member_id,) = _members(services, 1)
    cap = services.settings.max_open_posts
    jobs = [
        _publish(services, member_id, PostKind.WANT, f"Device {d} want {n} {TOPICS[n]}")
        for d in range(2)
        for n in range(6)
    ]
    results = _all_at_once(jobs)
    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"int": cap, "PostLimitReached": len(jobs) - cap}, outcomes
    with services.session_factory() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(Post)
            .where(Post.member_id == member_id, Post.status == PostStatus.OPEN)
        )
    assert stored == cap
    record(
        f"cap on two devices ({engine_of(services.settings.database_url)})",
        posts_tried_at_once=len(jobs),
        stored=stored,
        refused=len(jobs) - cap,
        cap=cap,
        over_cap=stored - cap,
    )


def test_many_members_posting_at_once_lose_nothing(services: Container) -> None:
    members = _members(services, 12)
    jobs = []
    for n, member_id in enumerate(members):
        jobs.append(_publish(services, member_id, PostKind.OFFER, f"Our {TOPICS[n]}"))
        jobs.append(
            _publish(
                services, member_id, PostKind.WANT, f"Looking for a {TOPICS[(n + 1) % len(TOPICS)]}"
            )
        )
    results = _all_at_once(jobs)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    with services.session_factory() as session:
        stored = session.scalar(select(func.count()).select_from(Post))
        pairs = session.execute(select(Introduction.want_id, Introduction.offer_id)).all()
    assert stored == len(jobs)
    assert len(pairs) == len(set(pairs))
    record(
        f"members posting at once ({engine_of(services.settings.database_url)})",
        threads=len(jobs),
        posts_stored=stored,
        lost=len(jobs) - stored,
        introductions=len(pairs),
        introduced_twice=len(pairs) - len(set(pairs)),
    )


def test_the_same_pair_is_never_introduced_twice(services: Container) -> None:
    owner, helper = _members(services, 2)
    want_id = _publish(services, owner, PostKind.WANT, "Records retention schedule")()
    _publish(services, helper, PostKind.OFFER, "Knowledge cafe facilitation")()

    def click() -> int:
        with services.session_factory.begin() as session:
            member = session.get(Member, helper)
            assert member is not None
            intro = offer_help(
                session, member, want_id, settings=services.settings, matcher=services.live_index
            )
            assert intro is not None
            return intro.id

    results = _all_at_once([click for _ in range(8)])
    made = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert len(made) == 1 and len(refused) == 7, results
    assert all("already been introduced" in str(r) for r in refused)
    with services.session_factory() as session:
        count = session.scalar(select(func.count()).select_from(Introduction))
    assert count == 1
    record(
        f"same pair at once ({engine_of(services.settings.database_url)})",
        clicks_at_once=8,
        introductions=count,
        introduced_twice=count - 1,
    )


def test_cap_holds_for_many_members_each_overposting(services: Container) -> None:
    members = _members(services, 6)
    cap = services.settings.max_open_posts
    jobs = [
        _publish(services, m, PostKind.OFFER, f"Offer {n} on {TOPICS[n % len(TOPICS)]}")
        for m in members
        for n in range(cap + 2)
    ]
    results = _all_at_once(jobs)
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, PostLimitReached)
    ]
    assert not unexpected, unexpected
    with services.session_factory() as session:
        per_member = dict(
            session.execute(select(Post.member_id, func.count()).group_by(Post.member_id)).all()
        )
    assert per_member == {m: cap for m in members}
    record(
        f"cap with many members ({engine_of(services.settings.database_url)})",
        threads=len(jobs),
        members=len(members),
        stored=sum(per_member.values()),
        over_cap=sum(max(0, v - cap) for v in per_member.values()),
    )


def test_a_new_member_posting_from_two_devices_at_once_loses_nothing(pg_slack: Any) -> None:
    slack = pg_slack
    user = slack.user("U0TWODEV", "Two Devices", "two.devices@devon.gov.uk")
    for n in range(3):
        assert (
            slack.slash(user, "/offer", f"Our records retention schedule, version {n}").status
            == 200
        )
    slack.settle()
    with slack.services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 3


def test_a_card_changed_while_a_sender_has_it_is_updated_after_it(services: Container) -> None:
    """Closing a post whose card a sender is posting this moment: the sender posts what it
    took; an update with the closed card follows it, so Slack ends up showing the change."""
    from datetime import timedelta

    from bot.services.closing import set_status
    from storage.models import OutboxMessage, OutboxStatus, utcnow

    (member_id,) = _members(services, 1)
    post_id = _publish(services, member_id, PostKind.WANT, "Records retention schedule")()
    with services.session_factory.begin() as session:
        card = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "card")).one()
        card.claimed_until = utcnow() + timedelta(minutes=1)  # a sender has it now
    with services.session_factory.begin() as session:
        post = session.get(Post, post_id)
        assert post is not None
        set_status(session, post, PostStatus.WITHDRAWN)
    with services.session_factory() as session:
        card = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "card")).one()
        updates = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "card_update")
        ).all()
        assert card.status == OutboxStatus.PENDING
        assert [(u.parent_id, u.method) for u in updates] == [(card.id, "chat.update")]
        assert "withdrawn" in str(updates[0].payload).lower()
