"""Follow-ups on unanswered introductions: asked twice, a week apart, one DM a day, then
recorded as no response; never about closed posts or to erased members; counted in the stats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slackkit import validate_blocks
from workerkit import MARKET, WorkerWorld, text_of, utc, world_fixture  # noqa: F401 - a fixture

from bot.devtools.fakeslack import Message
from bot.kernel.settings import ConfigError, Settings
from bot.reports.stats import collect, render
from bot.services.followups import still_talking
from bot.worker import Worker
from storage.models import Introduction, IntroductionStatus, Member, Post, PostKind, PostStatus

MADE = utc(2027, 3, 1, 9, 0)  # a Monday morning
DAY = timedelta(days=1)


def _intro(world: WorkerWorld, want_id: int, offer_id: int, made=MADE) -> int:  # type: ignore[no-untyped-def]
    with world.services.session_factory.begin() as session:
        intro = Introduction(
            want_id=want_id,
            offer_id=offer_id,
            score=70,
            reasons=["asset register"],
            status=IntroductionStatus.PROPOSED,
            created_at=made,
        )
        session.add(intro)
        session.flush()
        return intro.id


def _pair(world: WorkerWorld) -> tuple[int, int, int]:
    """Kent wants, Devon offers, introduced at MADE; returns (kent, devon, introduction)."""
    kent = world.member("U0KENT", world.council("Kent County Council"), "Raj Shah")
    devon = world.member("U0DEVON", world.council("Devon County Council"), "Jo Bloggs")
    want = world.post(kent, "Information asset register template", created_at=MADE - DAY)
    offer = world.post(
        devon, "Our IAR template and guidance", kind=PostKind.OFFER, created_at=MADE - DAY
    )
    return kent, devon, _intro(world, want, offer)


def _run(world: WorkerWorld, when):  # type: ignore[no-untyped-def]
    report = Worker(world.services, clock=lambda: when).follow_ups()
    world.deliver()
    return report.follow_ups


def _follow_ups(world: WorkerWorld, user: str) -> list[Message]:
    return [m for m in world.fake.dms(user) if "Did it help?" in text_of(m)]


def _get(world: WorkerWorld, intro_id: int) -> Introduction:
    with world.services.session_factory() as session:
        found = session.get(Introduction, intro_id)
        assert found is not None
        return found


def test_an_unanswered_introduction_gets_one_dm_to_each_party(world: WorkerWorld) -> None:
    _, _, intro_id = _pair(world)
    assert _run(world, MADE + 9 * DAY).messages == 0  # not yet: ten days by default
    run = _run(world, MADE + 10 * DAY)
    assert run.messages == 2 and run.introductions == 1
    (to_kent,) = _follow_ups(world, "U0KENT")
    (to_devon,) = _follow_ups(world, "U0DEVON")
    validate_blocks(to_kent.blocks)
    assert "Did you connect with <@U0DEVON> (Devon County Council)? Did it help?" in text_of(
        to_kent
    )
    assert "Did you connect with <@U0KENT> (Kent County Council)? Did it help?" in text_of(to_devon)
    buttons = [b for b in to_kent.blocks if b["type"] == "actions"][0]["elements"]
    assert [(e["action_id"], e["value"]) for e in buttons] == [
        ("intro_useful", str(intro_id)),
        ("intro_not_fit", str(intro_id)),
        ("intro_still_talking", str(intro_id)),
    ]
    # The same day again, or a second worker: nothing more.
    assert _run(world, MADE + 10 * DAY + timedelta(hours=3)).messages == 0
    assert len(_follow_ups(world, "U0KENT")) == 1
    assert _get(world, intro_id).follow_ups == 1


def test_a_second_ask_a_week_later_then_no_response_and_the_stats_say_so(
    world: WorkerWorld,
) -> None:
    _, _, intro_id = _pair(world)
    _run(world, MADE + 10 * DAY)
    assert _run(world, MADE + 16 * DAY).messages == 0  # a week between asks
    assert _run(world, MADE + 17 * DAY).messages == 2
    second = _follow_ups(world, "U0KENT")[-1]
    assert "a last check" in text_of(second)
    run = _run(world, MADE + 24 * DAY)
    assert run.messages == 0 and run.no_response == 1
    assert _get(world, intro_id).no_response_at == MADE + 24 * DAY
    assert _run(world, MADE + 40 * DAY).messages == 0  # never asked again
    assert len(_follow_ups(world, "U0KENT")) == 2
    with world.services.session_factory() as session:
        stats = collect(session, now=MADE + 40 * DAY)
    assert stats.follow_ups.followed_up == 1 and stats.follow_ups.no_response == 1
    assert "1 introduction followed up: 0 answered (0%)" in render(stats)
    assert "1 no response (100%)" in render(stats)
    assert stats.as_json()["follow_ups"]["no_response"] == 1


def test_still_talking_asks_again_a_week_later_and_is_never_no_response(
    world: WorkerWorld,
) -> None:
    kent, _, intro_id = _pair(world)
    _run(world, MADE + 10 * DAY)
    with world.services.session_factory.begin() as session:
        again = still_talking(session, session.get(Member, kent), intro_id, now=MADE + 11 * DAY)
    assert again == MADE + 18 * DAY
    assert _run(world, MADE + 17 * DAY).messages == 0
    assert _run(world, MADE + 18 * DAY).messages == 2  # asked again, as promised
    with world.services.session_factory() as session:
        stats = collect(session, now=MADE + 18 * DAY)
    assert stats.follow_ups.still_talking == 1


def test_several_due_introductions_make_one_dm_and_one_a_day_at_most(world: WorkerWorld) -> None:
    kent = world.member("U0KENT", world.council("Kent County Council"), "Raj Shah")
    want = world.post(kent, "Records retention schedule", created_at=MADE - DAY)
    offers = []
    for n, name in enumerate(("Devon", "Wiltshire", "Lewisham")):
        other = world.member(f"U0{name.upper()[:5]}", world.council(f"{name} Council"), name)
        offers.append(
            world.post(other, f"Retention schedule {n}", kind=PostKind.OFFER, created_at=MADE)
        )
    _intro(world, want, offers[0])
    _intro(world, want, offers[1])
    late = _intro(world, want, offers[2], made=MADE + 5 * DAY)
    assert _run(world, MADE + 10 * DAY).messages == 3  # Kent once, Devon, Wiltshire
    (batched,) = _follow_ups(world, "U0KENT")
    validate_blocks(batched.blocks)
    assert "2 of your introductions haven't been answered yet" in text_of(batched)
    assert "Devon Council" in text_of(batched) and "Wiltshire Council" in text_of(batched)
    # Due at 09:00 on day 15; Kent has had a DM today already (day 15 runs at 08:00 and 10:00).
    with world.services.session_factory.begin() as session:
        member = session.get(Member, kent)
        assert member is not None
        member.last_follow_up_at = MADE + 15 * DAY - timedelta(hours=1)
    assert _run(world, MADE + 15 * DAY + timedelta(hours=1)).messages == 0
    assert _get(world, late).follow_ups == 0  # it waits for tomorrow's
    assert _run(world, MADE + 16 * DAY).messages == 2
    assert "Lewisham Council" in text_of(_follow_ups(world, "U0KENT")[-1])


@pytest.mark.parametrize(
    ("last_asked", "run_at"),
    [
        # 23:30 BST on 30 June, then 00:30 BST on 1 July: a new UK day, though the same UTC one.
        (utc(2027, 6, 30, 22, 30), utc(2027, 6, 30, 23, 30)),
        # 08:00 one day, 07:00 the next: a new day, though not 24 hours on.
        (utc(2027, 6, 29, 8, 0), utc(2027, 6, 30, 7, 0)),
    ],
)
def test_one_a_day_means_one_each_uk_calendar_day(
    world: WorkerWorld,
    last_asked,
    run_at,  # type: ignore[no-untyped-def]
) -> None:
    kent, _, intro_id = _pair(world)
    with world.services.session_factory.begin() as session:
        member = session.get(Member, kent)
        intro = session.get(Introduction, intro_id)
        assert member is not None and intro is not None
        member.last_follow_up_at = last_asked
        intro.follow_up_due_at = last_asked  # due all along
    assert _run(world, run_at).messages == 2
    assert len(_follow_ups(world, "U0KENT")) == 1


def test_asked_earlier_the_same_uk_day_waits_even_across_utc_midnight(world: WorkerWorld) -> None:
    kent, _, intro_id = _pair(world)
    with world.services.session_factory.begin() as session:
        member = session.get(Member, kent)
        intro = session.get(Introduction, intro_id)
        assert member is not None and intro is not None
        # 00:30 BST on 1 July is 23:30 UTC on 30 June; 10:00 BST on 1 July is the same UK day.
        member.last_follow_up_at = utc(2027, 6, 30, 23, 30)
        intro.follow_up_due_at = utc(2027, 6, 30, 23, 30)
    assert _run(world, utc(2027, 7, 1, 9, 0)).messages == 0
    assert _run(world, utc(2027, 7, 1, 23, 30)).messages == 2  # 00:30 BST on 2 July


def test_never_about_closed_posts_nor_to_erased_members(world: WorkerWorld) -> None:
    kent, devon, intro_id = _pair(world)
    with world.services.session_factory.begin() as session:
        member = session.get(Member, devon)
        assert member is not None
        member.erased_at, member.slack_user_id = MADE, None
    assert _run(world, MADE + 10 * DAY).messages == 1  # Kent only
    assert len(_follow_ups(world, "U0KENT")) == 1
    kent2, devon2, other = _pair_again(world)
    with world.services.session_factory.begin() as session:
        intro = session.get(Introduction, other)
        assert intro is not None
        post = session.get(Post, intro.want_id)
        assert post is not None
        post.status = PostStatus.FULFILLED
    assert _run(world, MADE + 11 * DAY).messages == 0
    assert _get(world, other).follow_ups == 0


def test_someone_asked_earlier_today_holds_the_introduction_for_both(world: WorkerWorld) -> None:
    kent, devon, intro_id = _pair(world)  # due at 09:00 on day 10
    bath = world.member("U0BATH", world.council("Bath Council"), "Ann Lee")
    want = world.post(bath, "Knowledge café guide", created_at=MADE - DAY)
    offer = world.post(devon, "Knowledge café how-to", kind=PostKind.OFFER, created_at=MADE - DAY)
    _intro(world, want, offer, made=MADE - timedelta(hours=1))  # due at 08:00 on day 10
    assert _run(world, MADE + 10 * DAY - timedelta(minutes=30)).messages == 2  # Bath and Devon
    # Devon has had today's DM, so Kent is not asked alone: both are asked tomorrow.
    assert _run(world, MADE + 10 * DAY + timedelta(hours=1)).messages == 0
    assert _follow_ups(world, "U0KENT") == [] and _get(world, intro_id).follow_ups == 0
    assert _run(world, MADE + 11 * DAY).messages == 2
    assert "<@U0DEVON>" in text_of(_follow_ups(world, "U0KENT")[0])
    assert "<@U0KENT>" in text_of(_follow_ups(world, "U0DEVON")[-1])


def _pair_again(world: WorkerWorld, made=MADE) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """A second pair (Bath wants, York offers), introduced at ``made``."""
    a = world.member("U0BATH", world.council("Bath Council"), "Ann Lee")
    b = world.member("U0YORK", world.council("York Council"), "Tom Ray")
    want = world.post(a, "Knowledge café guide", created_at=MADE - DAY)
    offer = world.post(b, "Knowledge café how-to", kind=PostKind.OFFER, created_at=MADE - DAY)
    return a, b, _intro(world, want, offer, made)


def test_follow_ups_wait_while_a_party_is_away(world: WorkerWorld) -> None:
    kent, _, intro_id = _pair(world)
    with world.services.session_factory.begin() as session:
        member = session.get(Member, kent)
        assert member is not None
        member.away_until = MADE + 20 * DAY
    assert _run(world, MADE + 10 * DAY).messages == 0
    # Out of the queue till they are back, so it holds up nobody else's follow-ups.
    assert _get(world, intro_id).follow_up_due_at == MADE + 20 * DAY
    assert _run(world, MADE + 20 * DAY).messages == 2  # back: both asked
    assert _get(world, intro_id).follow_ups == 1


def test_a_long_absence_still_gets_its_follow_up(world: WorkerWorld) -> None:
    kent, _, intro_id = _pair(world)
    with world.services.session_factory.begin() as session:
        member = session.get(Member, kent)
        assert member is not None
        member.away_until = MADE + 90 * DAY
    assert _run(world, MADE + 10 * DAY).messages == 0
    assert _run(world, MADE + 60 * DAY).messages == 0
    assert _run(world, MADE + 90 * DAY).messages == 2
    assert _get(world, intro_id).follow_ups == 1


def test_introductions_long_past_due_are_not_raked_up(world: WorkerWorld) -> None:
    """Introductions made long before follow-ups began (or the worker ran) are left alone:
    nobody is asked about one from months ago."""
    _, _, old = _pair(world)  # due at day 10
    _, _, recent = _pair_again(world, made=MADE + 90 * DAY)  # due at day 100
    run = _run(world, MADE + 120 * DAY)
    assert run.introductions == 1 and run.messages == 2
    assert _get(world, old).follow_ups == 0 and _follow_ups(world, "U0KENT") == []
    # Within four weeks of falling due it is still asked about.
    assert _get(world, recent).follow_ups == 1 and len(_follow_ups(world, "U0BATH")) == 1


def test_the_follow_up_dm_is_owed_through_the_outbox(world: WorkerWorld) -> None:
    _pair(world)
    Worker(world.services, clock=lambda: MADE + 10 * DAY).follow_ups()
    rows = world.outbox("follow_up")
    assert len(rows) == 2 and {r.channel for r in rows} == {"U0KENT", "U0DEVON"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ten", "KMBOT_FOLLOW_UP_DAYS must be a whole number, not 'ten'."),
        ("0", "KMBOT_FOLLOW_UP_DAYS must be at least 1, not 0."),
        ("400", "KMBOT_FOLLOW_UP_DAYS must be at most 365, not 400."),
    ],
)
def test_a_bad_follow_up_setting_is_named(raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"KMBOT_FOLLOW_UP_DAYS": raw})
    assert str(err.value) == message


def test_the_follow_up_setting_defaults_to_ten_days() -> None:
    assert Settings.from_env({}).follow_up_days == 10
    assert Settings.from_env({"KMBOT_FOLLOW_UP_DAYS": " 14 "}).follow_up_days == 14


def test_the_weekly_digest_shows_the_weeks_follow_ups(world: WorkerWorld) -> None:
    from bot.services.reminders import send_weekly_digest

    _, devon, intro_id = _pair(world)
    _run(world, MADE + 10 * DAY)  # Thursday 11 March
    with world.services.session_factory.begin() as session:
        intro = session.get(Introduction, intro_id)
        assert intro is not None
        intro.status = IntroductionStatus.DECLINED
    monday = MADE + 14 * DAY  # 09:00 on Monday 15 March
    assert send_weekly_digest(world.services.session_factory, settings=world.settings, now=monday)
    world.deliver()
    (digest,) = [m for m in world.messages(MARKET) if "this week" in m.text]
    validate_blocks(digest.blocks)
    assert (
        "Follow-ups this week: 1 introduction followed up: 1 answered (100%) "
        "(0 useful, 1 not a fit), 0 still talking, 0 no response (0%)." in text_of(digest)
    )


def test_the_worker_schedules_the_follow_ups(world: WorkerWorld) -> None:
    scheduler = Worker(world.services).scheduler(freshness_seconds=3600)
    job = scheduler.get_job("follow_ups")
    assert job is not None and job.max_instances == 1  # never two runs at once
    assert job.trigger.interval == timedelta(hours=1)  # with expiry reminders: hourly


# ---------------------------------------------------------------- a follow-up DM, answered


def _answer(world: WorkerWorld, member_id: int, intro_id: int, *, useful: bool, when) -> None:  # type: ignore[no-untyped-def]
    from bot.services.introductions import answer_introduction

    with world.services.session_factory.begin() as session:
        answer_introduction(
            session, session.get(Member, member_id), intro_id, useful=useful, now=when
        )


def _batched(world: WorkerWorld) -> tuple[int, int, int]:
    """Kent's want introduced to Devon's and Wiltshire's offers; returns (kent, first, second)."""
    kent = world.member("U0KENT", world.council("Kent County Council"), "Raj Shah")
    want = world.post(kent, "Records retention schedule", created_at=MADE - DAY)
    intros = []
    for name in ("Devon", "Wiltshire"):
        other = world.member(f"U0{name.upper()[:5]}", world.council(f"{name} Council"), name)
        offer = world.post(
            other, f"{name} retention schedule", kind=PostKind.OFFER, created_at=MADE
        )
        intros.append(_intro(world, want, offer))
    return kent, intros[0], intros[1]


def _kents_dm(world: WorkerWorld) -> Message:
    (dm,) = _follow_ups(world, "U0KENT")
    validate_blocks(dm.blocks)
    return dm


def _buttons_for(dm: Message) -> list[str]:
    return [b["elements"][0]["value"] for b in dm.blocks if b["type"] == "actions"]


def test_answering_one_introduction_of_a_batched_dm_leaves_the_others(world: WorkerWorld) -> None:
    kent, first, second = _batched(world)
    _run(world, MADE + 10 * DAY)
    assert _buttons_for(_kents_dm(world)) == [str(first), str(second)]
    _answer(world, kent, first, useful=True, when=MADE + 11 * DAY)
    world.deliver()
    dm = _kents_dm(world)
    assert _buttons_for(dm) == [str(second)] and dm.edited
    assert "You marked this useful — thank you." in text_of(dm)
    assert "“We're still talking” is fine too" in text_of(dm)  # one still to answer
    # Devon's DM about the first is answered too; Wiltshire's about the second is untouched.
    (devons,) = _follow_ups(world, "U0DEVON")
    assert _buttons_for(devons) == [] and "<@U0KENT> marked this useful." in text_of(devons)
    (wiltshires,) = _follow_ups(world, "U0WILTS")
    assert _buttons_for(wiltshires) == [str(second)] and not wiltshires.edited
    _answer(world, kent, second, useful=False, when=MADE + 11 * DAY)
    world.deliver()
    dm = _kents_dm(world)
    assert _buttons_for(dm) == []
    assert "You marked this not a fit — thanks for letting me know." in text_of(dm)
    assert "You marked this useful — thank you." in text_of(dm)  # the first answer stays
    assert "“We're still talking” is fine too" not in text_of(dm)  # nothing left to answer


def test_two_answers_before_delivery_make_one_update_with_both(world: WorkerWorld) -> None:
    kent, first, second = _batched(world)
    _run(world, MADE + 10 * DAY)
    updates = len(world.fake.calls_to("chat.update"))
    _answer(world, kent, first, useful=True, when=MADE + 11 * DAY)
    _answer(world, kent, second, useful=True, when=MADE + 11 * DAY)
    (kents_dm,) = [r for r in world.outbox("follow_up") if r.channel == "U0KENT"]
    updates_owed = world.outbox("follow_up_update")
    # Kent's DM gets one update carrying both answers; Devon's and Wiltshire's one each.
    assert sorted(r.parent_id == kents_dm.id for r in updates_owed) == [False, False, True]
    world.deliver()
    assert len(world.fake.calls_to("chat.update")) - updates == 3
    assert _buttons_for(_kents_dm(world)) == []


def test_answered_before_the_follow_up_went_it_goes_already_answered(world: WorkerWorld) -> None:
    from bot.services.followups import follow_up_due

    kent, first, second = _batched(world)
    with world.services.session_factory.begin() as session:
        follow_up_due(session, settings=world.settings, now=MADE + 10 * DAY)  # owed, not sent
    _answer(world, kent, first, useful=False, when=MADE + 10 * DAY)
    world.deliver()
    dm = _kents_dm(world)
    assert _buttons_for(dm) == [str(second)] and not dm.edited
    assert "You marked this not a fit" in text_of(dm)
    assert world.outbox("follow_up_update") == []  # nothing in Slack to change: none owed


# ---------------------------------------------------------------- held introductions


def test_a_held_introduction_dropped_on_the_return_day_leaves_the_follow_ups(
    world: WorkerWorld,
) -> None:
    kent, devon, intro_id = _pair(world)
    bath, york, held = _pair_again(world)
    with world.services.session_factory.begin() as session:
        intro = session.get(Introduction, held)
        assert intro is not None
        intro.held_at = MADE
        member = session.get(Member, bath)
        assert member is not None
        member.away_until = MADE + 5 * DAY  # back before the follow-ups are due
        post = session.get(Post, intro.want_id)
        assert post is not None
        post.status = PostStatus.WITHDRAWN  # withdrawn while Bath was away
    report = Worker(world.services, clock=lambda: MADE + 10 * DAY).follow_ups()
    world.deliver()
    assert (report.released_introductions, report.dropped_introductions) == (0, 1)
    assert report.follow_ups is not None and report.follow_ups.messages == 2  # Kent and Devon
    with world.services.session_factory() as session:
        assert session.get(Introduction, held) is None  # dropped: it was never made
        member = session.get(Member, bath)
        assert member is not None and member.away_until is None
    assert world.messages(MARKET) == []  # nothing said about the dropped one


def test_a_failure_releasing_held_introductions_never_stops_the_follow_ups(
    world: WorkerWorld, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError

    import bot.services.away

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OperationalError("UPDATE introductions", {}, Exception("database is locked"))

    _pair(world)
    monkeypatch.setattr(bot.services.away, "release_returned", broken)  # a fault injected
    report = Worker(world.services, clock=lambda: MADE + 10 * DAY).follow_ups()
    world.deliver()
    assert report.follow_ups is not None and report.follow_ups.messages == 2
    assert len(_follow_ups(world, "U0KENT")) == 1
    assert "Releasing held introductions failed" in caplog.text
