"""The models on a real database, both engines: constraints, time zones, JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from storage import db
from storage.models import Council, Introduction, Member, OutboxMessage, Post, PostKind


@pytest.fixture
def session_factory(database_url: str):  # type: ignore[no-untyped-def]
    engine = db.make_engine(database_url)
    yield db.make_session_factory(engine)
    engine.dispose()


def _two_posts(session) -> tuple[Post, Post]:  # type: ignore[no-untyped-def]
    devon = Council(name="Devon County Council", short_name="Devon", other_names=["Devon CC"])
    kent = Council(name="Kent County Council", short_name="Kent")
    session.add_all([devon, kent])
    session.flush()
    jo = Member(slack_user_id="U1", slack_team_id="T1", name="Jo", council_id=devon.id)
    session.add(jo)
    session.flush()
    when = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    want = Post(
        kind=PostKind.WANT,
        member_id=jo.id,
        council_id=kent.id,
        text="IAR",
        expires_at=when + timedelta(days=90),
        created_at=when,
    )
    offer = Post(
        kind=PostKind.OFFER,
        member_id=jo.id,
        council_id=devon.id,
        text="IAR template",
        expires_at=when + timedelta(days=90),
    )
    session.add_all([want, offer])
    session.flush()
    return want, offer


def test_a_pair_is_introduced_at_most_once(session_factory) -> None:  # type: ignore[no-untyped-def]
    with session_factory.begin() as session:
        want, offer = _two_posts(session)
        session.add(Introduction(want_id=want.id, offer_id=offer.id, score=80, reasons=["IAR"]))
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(Introduction(want_id=want.id, offer_id=offer.id, score=81, reasons=[]))


def test_times_come_back_in_utc_and_json_round_trips(session_factory) -> None:  # type: ignore[no-untyped-def]
    with session_factory.begin() as session:
        want, _ = _two_posts(session)
        want_id = want.id
    with session_factory() as session:
        post = session.get(Post, want_id)
        assert post is not None
        assert post.created_at == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
        assert post.created_at.tzinfo is not None
        assert post.council.name == "Kent County Council"
        assert session.query(Council).filter_by(short_name="Devon").one().other_names == [
            "Devon CC"
        ]


def test_naive_datetimes_are_refused(session_factory) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match="naive datetime"), session_factory.begin() as session:
        want, _ = _two_posts(session)
        want.expires_at = datetime(2027, 1, 1)
        session.flush()


def test_outbox_dedupe_keys_are_unique_and_members_unique_per_workspace(session_factory) -> None:  # type: ignore[no-untyped-def]
    with session_factory.begin() as session:
        session.add(
            OutboxMessage(kind="card", channel="C1", payload={"text": "x"}, dedupe_key="card:1")
        )
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(
            OutboxMessage(kind="card", channel="C1", payload={"text": "y"}, dedupe_key="card:1")
        )
    with session_factory.begin() as session:
        session.add(Member(slack_user_id="U9", slack_team_id="T1"))
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(Member(slack_user_id="U9", slack_team_id="T1"))
    with session_factory.begin() as session:  # another workspace's U9 is someone else
        session.add(Member(slack_user_id="U9", slack_team_id="T2"))
