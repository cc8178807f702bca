"""The introduction rule is judged per pair, from both sides, and does not depend on the order
posts arrive in: the batch path (``all_matches``), the live path (posting one at a time through
the real posting service) and the explanation a facilitator asks for all apply it."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from bot.container import Container, build_container
from bot.kernel.settings import Settings
from bot.matching import MatchIndex, PostForMatching, explain_pair
from bot.matching.scoring import pair_verdict
from bot.services.membership import council_for, ensure_reference_councils, join_member
from bot.services.posting import publish_post
from storage.models import Introduction, Member, PostKind

IAR = "information asset register template with owners and review dates"


def offer(pid: int, text: str, council: int) -> PostForMatching:
    return PostForMatching(pid, "offer", council, text)


def want(pid: int, text: str, council: int) -> PostForMatching:
    return PostForMatching(pid, "want", council, text)


MARKET = [
    want(1, "Help building our information asset register (IAR) with owners", 1),
    want(2, "Records retention schedule for schools wanted", 2),
    want(3, "How do you keep a community of practice going after launch?", 3),
    offer(11, IAR, 11),
    offer(12, "Information asset register workshop slides", 12),
    offer(13, "Our schools records retention schedule, reviewed 2025", 13),
    offer(14, "Community of practice facilitator handbook", 14),
    offer(15, "Asset register for council property, land and buildings", 15),
]


def test_all_matches_is_the_same_whatever_order_the_posts_were_added_in() -> None:
    results = set()
    for seed in range(6):
        posts = list(MARKET)
        random.Random(seed).shuffle(posts)
        index = MatchIndex()
        for post in posts:
            index.add(post)
        results.add(tuple((m.want_id, m.offer_id, m.score) for m in index.all_matches()))
    assert len(results) == 1
    pairs = {(w, o) for w, o, _s in next(iter(results))}
    assert {(1, 11), (2, 13), (3, 14)} <= pairs
    assert (1, 15) not in pairs  # a property asset register is not an information one


def test_the_rule_names_the_part_that_decided() -> None:
    rule = {"threshold": 36, "max_per_post": 2, "runner_up_gap": 15}
    assert pair_verdict(35, [], [], **rule) == "below_threshold"
    assert pair_verdict(50, [], [], **rule) is None
    assert pair_verdict(50, [70], [], **rule) == "runner_up_for_want"
    assert pair_verdict(50, [], [66], **rule) == "runner_up_for_offer"
    assert pair_verdict(50, [60, 55], [], **rule) == "want_has_enough"
    assert pair_verdict(50, [], [60, 55], **rule) == "offer_has_enough"
    assert pair_verdict(50, [60], [60], **rule) is None


def test_a_new_post_is_judged_from_the_other_posts_side_too() -> None:
    index = MatchIndex()
    index.add(want(1, "information asset register template", 1))
    index.add(offer(11, IAR, 11))
    # A weaker offer arrives: the want's best is far better, so from the want's side it is a
    # runner-up, although it is the new offer's own best match.
    probe = offer(-1, "register of assets", 12)
    found = index.matches_for(probe, threshold=1, limit=5)
    assert [m.want_id for m in found] == [1]
    verdicts = index.judge(probe, found, threshold=1, max_per_post=3, runner_up_gap=15)
    assert verdicts[0][1] == "runner_up_for_want"


def test_explain_says_why_a_pair_is_or_is_not_introduced() -> None:
    index = MatchIndex()
    for post in MARKET:
        index.add(post)
    introduced = explain_pair(index, 1, 11)
    assert introduced.introduced and introduced.score >= 36
    assert "information asset register" in ", ".join(introduced.reasons)
    assert introduced.summary.startswith(f"Score {introduced.score} (threshold 36). Why: ")
    assert "Introduced" in introduced.summary
    unrelated = explain_pair(index, 3, 13)
    assert unrelated.verdict == "below_threshold"
    assert "below the introduction threshold 36" in unrelated.summary
    both_offers = explain_pair(index, 11, 12)
    assert both_offers.verdict == "same_kind" and "both are offers" in both_offers.summary


# ---------------------------------------------------------------- the live path, for real


@pytest.fixture
def services(database_url: str) -> Iterator[Container]:
    svc = build_container(Settings(database_url=database_url, marketplace_channel="C0MARKET"))
    yield svc
    svc.close()


def _post(svc: Container, user: str, council: str, kind: PostKind, text: str) -> int:
    with svc.session_factory.begin() as s:
        ensure_reference_councils(s, svc.directory)
        choice = council_for(s, council, svc.directory)
        assert choice is not None
        member = join_member(s, team_id="T1", user_id=user, council=choice.council, name=user)
        s.flush()
        member = s.get(Member, member.id)
        assert member is not None
        return publish_post(
            s, member, kind, text, settings=svc.settings, matcher=svc.live_index
        ).post.id


def _introduced(svc: Container) -> set[tuple[int, int]]:
    with svc.session_factory() as s:
        return set(s.query(Introduction.want_id, Introduction.offer_id).all())


def test_a_later_better_offer_is_still_introduced_to_a_want_that_has_enough(
    services: Container,
) -> None:
    wanted = _post(
        services, "U0", "Kent County Council", PostKind.WANT, "Information asset register template"
    )
    earlier = [
        _post(services, f"U{n}", council, PostKind.OFFER, "Information asset register slides")
        for n, council in enumerate(
            ("Devon County Council", "Cornwall Council", "Wiltshire Council"), start=1
        )
    ]
    assert {(wanted, o) for o in earlier} <= _introduced(services)  # three: the most per post
    better = _post(
        services, "U9", "Leeds City Council", PostKind.OFFER, "Information asset register template"
    )
    assert (wanted, better) in _introduced(services)


def test_a_weak_newcomer_is_not_introduced_to_a_want_that_has_a_far_better_match(
    services: Container,
) -> None:
    wanted = _post(
        services, "U1", "Kent County Council", PostKind.WANT, "information asset register template"
    )
    best = _post(services, "U2", "Devon County Council", PostKind.OFFER, IAR)
    weak = _post(services, "U3", "Cornwall Council", PostKind.OFFER, "register of assets")
    made = _introduced(services)
    assert (wanted, best) in made and (wanted, weak) not in made
