"""The worker's sweeps: introductions that two simultaneous posts missed, and the retention
purge of closed posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workerkit import MARKET, WorkerWorld, text_of, world_fixture  # noqa: F401 - a fixture

from bot.worker import Worker
from storage.models import Introduction, Post, PostKind, PostStatus


def test_posts_that_missed_each_other_are_introduced_by_the_next_tick(world: WorkerWorld) -> None:
    now = datetime.now(UTC)
    devon = world.member("U0DEVON", world.council("Devon County Council"), "Jo Bloggs")
    kent = world.member("U0KENT", world.council("Kent County Council"), "Raj Shah")
    # Stored directly, as two web processes committing at the same instant would leave them.
    world.post(
        devon,
        "Information asset register (IAR) template",
        kind=PostKind.OFFER,
        created_at=now - timedelta(minutes=2),
    )
    want = world.post(
        kent, "Help setting up an information asset register", created_at=now - timedelta(minutes=1)
    )
    report = Worker(world.services, clock=lambda: now).tick()
    assert report.missed_introductions == 1
    world.deliver()
    intros = [m for m in world.messages(MARKET) if "meet" in text_of(m)]
    assert len(intros) == 1
    assert "<@U0DEVON>" in text_of(intros[0]) and "<@U0KENT>" in text_of(intros[0])
    again = Worker(world.services, clock=lambda: now).tick()
    assert again.missed_introductions == 0
    with world.services.session_factory() as session:
        assert session.query(Introduction).filter_by(want_id=want).count() == 1


def test_old_posts_are_not_swept(world: WorkerWorld) -> None:
    now = datetime.now(UTC)
    devon = world.member("U0DEVON", world.council("Devon County Council"))
    kent = world.member("U0KENT", world.council("Kent County Council"))
    world.post(
        devon,
        "Information asset register (IAR) template",
        kind=PostKind.OFFER,
        created_at=now - timedelta(days=3),
    )
    world.post(
        kent, "Help setting up an information asset register", created_at=now - timedelta(days=2)
    )
    assert Worker(world.services, clock=lambda: now).tick().missed_introductions == 0


def test_freshness_purges_closed_posts_after_the_retention_period(world: WorkerWorld) -> None:
    now = datetime.now(UTC)
    kent = world.member("U0KENT", world.council("Kent County Council"))
    old = world.post(kent, "An old want that was met", created_at=now - timedelta(days=800))
    recent = world.post(kent, "A recent want that was met", created_at=now - timedelta(days=20))
    with world.services.session_factory.begin() as session:
        for pid, closed in ((old, now - timedelta(days=400)), (recent, now - timedelta(days=5))):
            post = session.get(Post, pid)
            assert post is not None
            post.status, post.closed_at, post.changed_at = PostStatus.FULFILLED, closed, closed
            post.expires_at = now + timedelta(days=1)
    report = Worker(world.services, clock=lambda: now).freshness()
    assert report.purged == 1
    with world.services.session_factory() as session:
        purged, kept = session.get(Post, old), session.get(Post, recent)
        assert purged is not None and kept is not None
        assert "An old want" not in purged.text and purged.member_id is None
        assert purged.status == PostStatus.FULFILLED  # the anonymous count survives
        assert kept.text == "A recent want that was met"
