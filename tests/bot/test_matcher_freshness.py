"""Every web process's match index follows the store, cheaply, at scale.

Two ``LiveMatchIndex`` objects on one database stand for two web processes: what one stores, the
other matches on after its next refresh; and a refresh with nothing new reads no posts.
"""

from __future__ import annotations

from datetime import timedelta

from bot.live_index import LiveMatchIndex
from bot.matching import PostForMatching
from storage import db
from storage.models import Council, Post, PostKind, PostStatus, utcnow


def _store(factory, text: str, kind: PostKind, council_id: int, *, stamp=None) -> int:  # type: ignore[no-untyped-def]
    now = utcnow()
    with factory.begin() as session:
        post = Post(
            kind=kind,
            council_id=council_id,
            text=text,
            status=PostStatus.OPEN,
            source="slack",
            created_at=now,
            refreshed_at=now,
            expires_at=now + timedelta(days=90),
            changed_at=stamp or now,
        )
        session.add(post)
        session.flush()
        return post.id


def _offers_for(matcher: LiveMatchIndex, text: str) -> list[int]:
    probe = PostForMatching(id=-1, kind="want", council_id=-1, text=text)
    return [m.offer_id for m in matcher.index.matches_for(probe, threshold=20, limit=5)]


def test_a_post_stored_by_one_process_is_matched_by_another(database_url: str) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    try:
        with factory.begin() as session:
            a = Council(name="Devon County Council", short_name="Devon")
            b = Council(name="Wiltshire Council", short_name="Wiltshire")
            session.add_all([a, b])
            session.flush()
            devon, wilts = a.id, b.id
        old = _store(
            factory,
            "Our records retention schedule for housing files",
            PostKind.OFFER,
            devon,
            stamp=utcnow() - timedelta(hours=2),
        )
        web1, web2 = LiveMatchIndex(), LiveMatchIndex()
        with factory() as session:
            assert web1.refresh(session) == 1  # the first refresh loads every open post
        with factory() as session:
            web2.refresh(session)
        want = "Need a records retention schedule"
        assert _offers_for(web2, want) == [old]

        # Process 1 stores an offer; process 2 sees it on its next refresh.
        new = _store(
            factory,
            "Information asset register template and guidance for IAOs",
            PostKind.OFFER,
            wilts,
        )
        with factory() as session:
            assert web2.refresh(session) == 1
        assert _offers_for(web2, "Looking for an information asset register") == [new]

        # Nothing changed since: a refresh reads no posts (the window's posts are known).
        with factory() as session:
            assert web2.refresh(session) == 0

        # A transaction that stamped its post a little before the last refresh but committed
        # after it (another process, slow to commit) is still picked up.
        late = _store(
            factory,
            "Channel shift plan for council tax",
            PostKind.OFFER,
            devon,
            stamp=utcnow() - timedelta(seconds=20),
        )
        with factory() as session:
            assert web2.refresh(session) == 1
        assert _offers_for(web2, "Anyone got a channel shift plan for council tax?") == [late]

        # Closed elsewhere: gone from this process's matches after its refresh.
        with factory.begin() as session:
            post = session.get(Post, old)
            assert post is not None
            post.status, post.changed_at = PostStatus.FULFILLED, utcnow()
        with factory() as session:
            web2.refresh(session)
        assert _offers_for(web2, want) == []
        assert old not in web2.index and len(web2.index) == 2
    finally:
        engine.dispose()
