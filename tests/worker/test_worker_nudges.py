"""The weekly nudge with controlled time: slots, clocks changing, bank holidays, exactly once."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from slackkit import make_services, validate_blocks
from sqlalchemy import select
from workerkit import (  # noqa: F401 - world_fixture provides the world fixture
    CF_CHANNEL,
    IM_CHANNEL,
    WorkerWorld,
    text_of,
    utc,
    world_fixture,
)

from bot.services.communities import (
    add_prompt,
    ensure_builtin_prompts,
    find_community,
    list_prompts,
    set_paused,
    set_slot,
)
from bot.services.nudges import latest_slot, next_slot, run_due_nudges, send_nudge_now
from bot.slack import ids
from storage.models import CommunityOfPractice, NudgeRun, OutboxMessage, PostKind

# Tuesday 12 January 2027, 10:00 GMT (= 10:00 UTC): the default community's slot.
SLOT = utc(2027, 1, 12, 10, 0)


def _wants(world: WorkerWorld) -> tuple[int, int]:
    devon = world.council("Devon County Council")
    leeds = world.council("Leeds City Council")
    jo = world.member("U0JO", devon, "Jo Bloggs")
    sam = world.member("U0SAM", leeds, "Sam Patel")
    return jo, sam


def test_the_weekly_slot_sends_one_nudge_with_a_prompt_and_the_waiting_wants(
    world: WorkerWorld,
) -> None:
    jo, sam = _wants(world)
    world.post(
        jo,
        "A template information asset register for a small district",
        created_at=SLOT - timedelta(days=20),
    )
    met = world.post(
        jo, "Retention schedule for planning files", created_at=SLOT - timedelta(days=9)
    )
    offer = world.post(
        sam, "Our retention schedule", kind=PostKind.OFFER, created_at=SLOT - timedelta(days=8)
    )
    world.confirm(met, offer)
    world.post(
        sam, "Customer journey maps for council tax", area="CF", created_at=SLOT - timedelta(days=3)
    )
    world.post(
        sam, "Help with <!channel> & metadata <b>standards</b>", created_at=SLOT - timedelta(days=2)
    )
    world.community()

    assert world.run(SLOT - timedelta(minutes=1)) == []
    assert world.messages(IM_CHANNEL) == []

    outcomes = world.run(SLOT + timedelta(seconds=20))
    assert [(o.status, o.slot) for o in outcomes] == [("sent", SLOT)]
    messages = world.messages(IM_CHANNEL)
    assert len(messages) == 1
    nudge = messages[0]
    validate_blocks(nudge.blocks)
    body = text_of(nudge)
    assert "This week's question for the Information Management community" in body
    assert "Can anyone help these councils?" in body
    assert "A template information asset register" in body
    assert "Devon County Council" in body and "Leeds City Council" in body
    # Met (confirmed) wants and wants in other areas are not asked about.
    assert "Retention schedule for planning files" not in body
    assert "Customer journey maps" not in body
    # Member text is shown, never acted on.
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body and "&amp;" in body
    buttons = [b["accessory"] for b in nudge.blocks if b.get("accessory")]
    assert [b["action_id"] for b in buttons] == [ids.ACT_NUDGE_HELP] * 2
    assert [b["text"]["text"] for b in buttons] == ["I can help"] * 2

    # Ticks later in the week send nothing more; the next Tuesday sends the next one.
    for minutes in (1, 30, 60 * 24):
        assert world.run(SLOT + timedelta(minutes=minutes)) == []
    assert len(world.messages(IM_CHANNEL)) == 1
    world.run(SLOT + timedelta(days=7, seconds=5))
    assert len(world.messages(IM_CHANNEL)) == 2
    assert [r.status for r in world.runs(1)] == ["sent", "sent"]


def test_prompts_rotate_week_by_week_and_include_the_facilitators_own(
    world: WorkerWorld,
) -> None:
    cid = world.community()
    with world.services.session_factory.begin() as session:
        assert ensure_builtin_prompts(session) >= 24  # as the worker does when it starts
        assert ensure_builtin_prompts(session) == 0
        own = add_prompt(
            session, "What one change to your records policy would save you a day?", area="IM"
        )
        add_prompt(session, "A prompt only for the Customer Focus community, thank you.", area="CF")
        own_id = own.id
    with world.services.session_factory() as session:
        bank = [p.id for p in list_prompts(session, "IM")]
    assert own_id in bank and len(bank) >= 7
    seen = []
    for week in range(len(bank) + 1):
        world.run(SLOT + timedelta(days=7 * week, seconds=1))
        seen.append(world.runs(cid)[-1].prompt_id)
    assert seen[:-1] == bank, "every prompt of the area's bank once, in turn"
    assert seen[-1] == seen[0], "then round again"
    texts = [text_of(m) for m in world.messages(IM_CHANNEL)]
    assert len(texts) == len(bank) + 1
    assert any("records policy would save you a day" in t for t in texts)
    assert own_id in seen
    assert not any("only for the Customer Focus" in t for t in texts)


def test_slots_keep_local_time_across_the_spring_and_autumn_clock_changes(
    world: WorkerWorld,
) -> None:
    cid = world.community()
    community = world.get_community(cid)
    # Clocks go forward on Sunday 28 March 2027 and back on Sunday 31 October 2027.
    assert latest_slot(community, utc(2027, 3, 29, 12)) == utc(2027, 3, 23, 10, 0)  # GMT
    assert next_slot(community, utc(2027, 3, 29, 12)) == utc(2027, 3, 30, 9, 0)  # BST
    assert latest_slot(community, utc(2027, 11, 1, 12)) == utc(2027, 10, 26, 9, 0)  # BST
    assert next_slot(community, utc(2027, 11, 1, 12)) == utc(2027, 11, 2, 10, 0)  # GMT

    world.run(utc(2027, 3, 23, 10, 0, 5))
    assert len(world.messages(IM_CHANNEL)) == 1
    # In the week the clocks change, 09:00 UTC is 10:00 BST: due then, not an hour later.
    assert world.run(utc(2027, 3, 30, 8, 59)) == []
    assert len(world.messages(IM_CHANNEL)) == 1
    outcomes = world.run(utc(2027, 3, 30, 9, 0, 5))
    assert [(o.status, o.reason) for o in outcomes] == [("sent", None)]
    assert len(world.messages(IM_CHANNEL)) == 2
    # And back to 10:00 UTC when the clocks go back.
    world.run(utc(2027, 10, 26, 9, 0, 5))
    assert world.run(utc(2027, 11, 2, 9, 30)) == []
    outcomes = world.run(utc(2027, 11, 2, 10, 0, 5))
    assert [(o.status, o.slot) for o in outcomes] == [("sent", utc(2027, 11, 2, 10, 0))]
    assert len(world.messages(IM_CHANNEL)) == 4


def test_a_bank_holiday_is_skipped_for_the_communitys_own_nation(
    world: WorkerWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Monday 3 May 2027 is the Early May bank holiday everywhere in the UK.
    monday = world.community(weekday=0)
    # Tuesday 30 November 2027 is St Andrew's Day: a bank holiday in Scotland only.
    later = utc(2027, 11, 29)
    scots = world.community(CF_CHANNEL, "cf-scotland", area="CF", nation="Scotland", created=later)
    english = world.community("C0OLCOP", "ol-england", area="OL", created=later)
    caplog.set_level(logging.INFO, logger="bot.services.nudges")

    outcomes = world.run(utc(2027, 5, 3, 9, 0, 30))  # 10:00 BST
    assert [(o.status, o.reason) for o in outcomes] == [("skipped", "bank holiday: May Day")]
    assert world.messages(IM_CHANNEL) == []
    assert "bank holiday: May Day" in caplog.text
    assert world.run(utc(2027, 5, 3, 9, 5)) == [], "a skipped slot is decided, not retried"
    # The next week is an ordinary Monday again.
    world.run(utc(2027, 5, 10, 9, 0, 30))
    assert len(world.messages(IM_CHANNEL)) == 1
    assert [r.status for r in world.runs(monday)] == ["skipped", "sent"]

    outcomes = {o.community_id: o for o in world.run(utc(2027, 11, 30, 10, 0, 30))}
    assert outcomes[scots].status == "skipped"
    assert outcomes[scots].reason == "bank holiday: Saint Andrew's Day"
    assert outcomes[english].status == "sent"
    assert world.messages(CF_CHANNEL) == []
    assert len(world.messages("C0OLCOP")) == 1


def test_a_restart_after_sending_does_not_send_again(world: WorkerWorld) -> None:
    world.community()
    world.run(SLOT + timedelta(seconds=3))
    assert len(world.messages(IM_CHANNEL)) == 1
    # A new worker process: new engine, new services, same database.
    restarted = make_services(world.settings)
    try:
        outcomes = run_due_nudges(
            restarted.session_factory, settings=world.settings, now=SLOT + timedelta(minutes=5)
        )
        assert outcomes == []
        assert restarted.deliverer is not None
        restarted.deliverer.deliver_due()
    finally:
        restarted.close()
    assert len(world.messages(IM_CHANNEL)) == 1


def test_a_restart_between_owing_and_delivering_still_delivers_once(world: WorkerWorld) -> None:
    world.community()
    # The first worker records the slot and owes the nudge, then dies before delivering.
    outcomes = run_due_nudges(
        world.services.session_factory, settings=world.settings, now=SLOT + timedelta(seconds=3)
    )
    assert [o.status for o in outcomes] == ["sent"] and world.messages(IM_CHANNEL) == []
    restarted = make_services(world.settings)
    try:
        assert (
            run_due_nudges(
                restarted.session_factory, settings=world.settings, now=SLOT + timedelta(minutes=2)
            )
            == []
        )
        assert restarted.deliverer is not None
        restarted.deliverer.deliver_due()
        restarted.deliverer.deliver_due()
    finally:
        restarted.close()
    assert len(world.messages(IM_CHANNEL)) == 1


def test_a_late_start_inside_the_grace_window_sends_late(world: WorkerWorld) -> None:
    cid = world.community()
    outcomes = world.run(SLOT + timedelta(minutes=90))
    assert [(o.status, o.reason) for o in outcomes] == [("sent", "sent 90 minutes late")]
    assert len(world.messages(IM_CHANNEL)) == 1
    assert world.runs(cid)[0].reason == "sent 90 minutes late"


def test_a_late_start_after_the_grace_window_skips_and_logs(
    world: WorkerWorld,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cid = world.community()
    caplog.set_level(logging.WARNING, logger="bot.services.nudges")
    outcomes = world.run(SLOT + timedelta(minutes=121))
    assert [o.status for o in outcomes] == ["skipped"]
    assert world.messages(IM_CHANNEL) == []
    run = world.runs(cid)[0]
    assert run.status == "skipped" and run.slot == SLOT
    assert "121 minutes late, after the 120-minute grace window" in (run.reason or "")
    assert "after the 120-minute grace window" in caplog.text
    # The week after is on time again.
    world.run(SLOT + timedelta(days=7, seconds=1))
    assert len(world.messages(IM_CHANNEL)) == 1


def test_the_grace_window_follows_the_setting(world: WorkerWorld) -> None:
    world.community()
    world.settings = world.settings.with_(nudge_grace_minutes=10)
    assert [o.status for o in world.run(SLOT + timedelta(minutes=11))] == ["skipped"]
    assert world.messages(IM_CHANNEL) == []


def test_two_workers_at_once_send_each_slot_once(world: WorkerWorld) -> None:
    channels = [f"C0COP{n:02d}" for n in range(8)]
    for n, channel in enumerate(channels):
        world.community(channel, f"cop-{n}", area=("IM", "CF", "CO", "OL")[n % 4])
    workers = [make_services(world.settings) for _ in range(2)]
    barrier = threading.Barrier(len(workers))
    results: list[list[object]] = [[] for _ in workers]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = list(
                run_due_nudges(
                    workers[index].session_factory,
                    settings=world.settings,
                    now=SLOT + timedelta(seconds=30),
                )
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors, errors
        assert sum(len(r) for r in results) == len(channels), "each slot decided by one worker"
        for services in workers:
            assert services.deliverer is not None
            services.deliverer.deliver_due()
    finally:
        for services in workers:
            services.close()
    for channel in channels:
        assert len(world.messages(channel)) == 1, channel
    with world.services.session_factory() as session:
        assert len(list(session.scalars(select(NudgeRun)))) == len(channels)
        assert len(
            list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "nudge")))
        ) == len(channels)


def test_changes_take_effect_on_the_next_tick_without_a_restart(world: WorkerWorld) -> None:
    cid = world.community()
    with world.services.session_factory.begin() as session:
        set_paused(session, find_community(session, IM_CHANNEL), True, now=SLOT - timedelta(days=1))
    assert world.run(SLOT + timedelta(seconds=5)) == []
    assert world.messages(IM_CHANNEL) == []
    # Resumed and moved to Thursday 14:30 a day later: that week's Thursday slot is nudged.
    with world.services.session_factory.begin() as session:
        community = find_community(session, "#im-cop")
        set_paused(session, community, False, now=SLOT + timedelta(days=1))
        set_slot(session, community, weekday=3, time_of_day="2:30pm", now=SLOT + timedelta(days=1))
    assert world.run(utc(2027, 1, 14, 14, 29)) == []
    outcomes = world.run(utc(2027, 1, 14, 14, 30, 10))
    assert [(o.status, o.slot) for o in outcomes] == [("sent", utc(2027, 1, 14, 14, 30))]
    assert len(world.messages(IM_CHANNEL)) == 1
    assert [r.slot for r in world.runs(cid)] == [utc(2027, 1, 14, 14, 30)]


def test_a_community_is_not_nudged_for_a_slot_before_it_existed(world: WorkerWorld) -> None:
    world.community(created=SLOT + timedelta(minutes=5))
    assert world.run(SLOT + timedelta(minutes=10)) == []
    assert world.messages(IM_CHANNEL) == []


def test_send_nudge_now_does_not_use_up_the_weekly_slot(world: WorkerWorld) -> None:
    cid = world.community()
    with world.services.session_factory.begin() as session:
        community = session.get(CommunityOfPractice, cid)
        assert community is not None
        first = send_nudge_now(
            session, community, settings=world.settings, now=SLOT - timedelta(hours=1)
        )
        again = send_nudge_now(
            session,
            community,
            settings=world.settings,
            now=SLOT - timedelta(hours=1) + timedelta(seconds=20),
        )
        assert first.id == again.id, "a double click sends one nudge"
    world.deliver()
    assert len(world.messages(IM_CHANNEL)) == 1
    assert world.runs(cid) == []
    world.run(SLOT + timedelta(seconds=5))
    messages = world.messages(IM_CHANNEL)
    assert len(messages) == 2
    assert text_of(messages[0]) != text_of(messages[1]), "the weekly one moves to the next prompt"
