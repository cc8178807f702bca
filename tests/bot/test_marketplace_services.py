"""Marketplace services on a real database (SQLite and PostgreSQL): posting, the cap,
introductions, closing, outcomes, council resolution and import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.container import Container, build_container
from bot.kernel.errors import InvalidInput, NotAllowed, PostLimitReached
from bot.kernel.settings import Settings
from bot.services.closing import close_post, record_outcome
from bot.services.introductions import answer_introduction, proposed_introductions
from bot.services.membership import (
    AmbiguousCouncil,
    council_for,
    ensure_reference_councils,
    join_member,
)
from bot.services.posting import publish_post
from bot.services.workshop_csv import parse_workshop
from bot.services.workshop_import import import_workshop
from storage.models import (
    Council,
    Introduction,
    IntroductionStatus,
    Member,
    OutboxMessage,
    Post,
    PostKind,
    PostStatus,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "workshops"


@pytest.fixture
def services(database_url: str) -> Iterator[Container]:
    svc = build_container(Settings(database_url=database_url, marketplace_channel="C0MARKET"))
    yield svc
    svc.close()


def _member(svc: Container, user: str, council: str) -> int:
    with svc.session_factory.begin() as s:
        ensure_reference_councils(s, svc.directory)
        choice = council_for(s, council, svc.directory)
        assert choice is not None
        return join_member(
            s,
            team_id="T1",
            user_id=user,
            council=choice.council,
            name=user,
            email=f"{user.lower()}@example.org",
        ).id


def _post(svc: Container, member_id: int, kind: PostKind, text: str, **kw):  # type: ignore[no-untyped-def]
    with svc.session_factory.begin() as s:
        member = s.get(Member, member_id)
        return publish_post(
            s, member, kind, text, settings=svc.settings, matcher=svc.live_index, **kw
        )


def test_a_matching_want_is_introduced_and_the_card_and_intro_are_owed(services: Container) -> None:
    devon = _member(services, "U1", "Devon CC")
    kent = _member(services, "U2", "Kent")
    _post(services, devon, PostKind.OFFER, "Information asset register (IAR) template")
    result = _post(services, kent, PostKind.WANT, "Help building our IAR")
    assert len(result.introductions) == 1
    with services.session_factory() as s:
        intro = s.query(Introduction).one()
        assert intro.score >= services.live_index.intro_threshold
        assert any("information asset register" in r for r in intro.reasons)
        kinds = [m.kind for m in s.query(OutboxMessage).order_by(OutboxMessage.id)]
        assert kinds == ["card", "card", "introduction"]
        intro_msg = s.query(OutboxMessage).filter_by(kind="introduction").one()
        card = s.query(OutboxMessage).filter_by(kind="card", post_id=intro.want_id).one()
        assert intro_msg.parent_id == card.id  # posted in the want card's thread


def test_never_within_one_council_and_never_twice(services: Container) -> None:
    a = _member(services, "U1", "Devon CC")
    b = _member(services, "U3", "Devon County Council")
    _post(services, a, PostKind.OFFER, "Information asset register template")
    assert _post(services, b, PostKind.WANT, "Information asset register help").introductions == []
    kent = _member(services, "U2", "Kent")
    first = _post(services, kent, PostKind.WANT, "Information asset register (IAR) help")
    assert len(first.introductions) == 1
    pair = (first.post.id, first.introductions[0].offer_id)
    with services.session_factory() as s:
        offered = {(m.want.id, m.offer.id) for m in proposed_introductions(s, services.live_index)}
    assert pair not in offered  # already introduced: never proposed again
    # Devon's second member's want shares a council with the offer: still not introduced.
    assert (2, 1) not in offered


def test_the_cap_holds_at_five_open_posts_per_kind(services: Container) -> None:
    devon = _member(services, "U1", "Devon CC")
    for n in range(5):
        _post(services, devon, PostKind.WANT, f"Want {n} about subject{n}")
    with pytest.raises(PostLimitReached) as err:
        _post(services, devon, PostKind.WANT, "One too many")
    assert len(err.value.open_posts) == 5
    _post(services, devon, PostKind.OFFER, "Offers have their own five")
    with services.session_factory.begin() as s:
        close_post(s, s.get(Member, devon), 1, PostStatus.WITHDRAWN, matcher=services.live_index)
    _post(services, devon, PostKind.WANT, "Now there is room")
    with services.session_factory() as s:
        assert s.query(Post).filter_by(kind=PostKind.WANT, status=PostStatus.OPEN).count() == 5


def test_bad_posts_are_refused_with_a_reason_and_nothing_is_stored(services: Container) -> None:
    devon = _member(services, "U1", "Devon CC")
    for text, kw, message in (
        ("   \u200b ", {}, "empty"),
        ("x" * 1001, {}, "at most 1,000"),
        ("Good text", {"link": "ftp://example.org"}, "http"),
        ("Good text", {"area": "XX"}, "Knowledge area"),
    ):
        with pytest.raises(InvalidInput, match=message):
            _post(services, devon, PostKind.WANT, text, **kw)
    with services.session_factory() as s:
        assert s.query(Post).count() == 0 and s.query(OutboxMessage).count() == 0


def test_only_the_parties_answer_and_outcomes_are_recorded(services: Container) -> None:
    devon = _member(services, "U1", "Devon CC")
    kent = _member(services, "U2", "Kent")
    other = _member(services, "U3", "Wiltshire")
    _post(services, devon, PostKind.OFFER, "Information asset register (IAR) template")
    want = _post(services, kent, PostKind.WANT, "Help building our IAR").post
    with services.session_factory.begin() as s:
        with pytest.raises(NotAllowed):
            answer_introduction(s, s.get(Member, other), 1, useful=True)
        intro = answer_introduction(s, s.get(Member, kent), 1, useful=True)
        assert intro.status == IntroductionStatus.CONFIRMED
    with services.session_factory.begin() as s:
        close_post(s, s.get(Member, kent), want.id, PostStatus.FULFILLED)
        outcome = record_outcome(s, s.get(Member, kent), want.id, days=120, note="Saved months")
        assert outcome.introduction_id == 1
        with pytest.raises(InvalidInput):
            record_outcome(s, s.get(Member, kent), want.id, days=-1, note=None)


def test_council_resolution_in_the_store(services: Container) -> None:
    with services.session_factory.begin() as s:
        ensure_reference_councils(s, services.directory)
        assert s.query(Council).count() == 397
        assert council_for(s, "LB Lewisham", services.directory).council.name == (  # type: ignore[union-attr]
            "London Borough of Lewisham"
        )
        new = council_for(s, "Taunton Deane Borough Council", services.directory)
        assert new is not None and new.created
        again = council_for(s, "Taunton Deane Borough Council", services.directory)
        assert again is not None and not again.created and again.council.id == new.council.id
        with pytest.raises(AmbiguousCouncil):
            council_for(s, "Kingston", services.directory)


def test_import_is_all_or_nothing_and_idempotent(services: Container) -> None:
    parsed = parse_workshop(FIXTURES / "good.csv")
    with services.session_factory.begin() as s:
        first = import_workshop(s, parsed, services.directory)
    assert (first.added_wants, first.added_offers) == (2, 2)
    with services.session_factory.begin() as s:
        second = import_workshop(s, parse_workshop(FIXTURES / "good.csv"), services.directory)
    assert second.added == 0 and second.already_imported == 4
    with services.session_factory() as s:
        found = proposed_introductions(s, services.live_index)
        assert ("Kent County Council", "Devon County Council") in {
            (m.want.council.name, m.offer.council.name) for m in found
        }


def test_a_post_rolled_back_never_enters_the_match_index(services: Container) -> None:
    devon = _member(services, "U1", "Devon CC")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), services.session_factory.begin() as s:
        publish_post(
            s,
            s.get(Member, devon),
            PostKind.OFFER,
            "IAR template",
            settings=services.settings,
            matcher=services.live_index,
        )
        raise Boom
    assert len(services.live_index.index) == 0
    kept = _post(services, devon, PostKind.OFFER, "IAR template")
    assert kept.post.id in services.live_index.index
