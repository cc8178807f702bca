"""Keeping the market fresh: expiry reminders and their buttons, expiry, the weekly digest."""

from __future__ import annotations

from datetime import timedelta

from slackkit import SlackDriver, validate_blocks, validate_view
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from workerkit import MARKET, WorkerWorld, text_of, utc, world_fixture  # noqa: F401 - a fixture

from bot.devtools.fakeslack import Message
from bot.services.reminders import expire_posts, send_expiry_reminders, send_weekly_digest
from bot.slack import ids
from storage.models import Member, Post, PostKind, PostStatus


def _post(slack: SlackDriver, user: str, command: str, text: str) -> Post:
    slack.slash(user, command, text)
    slack.settle()
    with slack.services.session_factory() as session:
        post = session.scalars(
            select(Post).options(selectinload(Post.member)).order_by(Post.id.desc())
        ).first()
        assert post is not None
        return post


def _remind(slack: SlackDriver, post: Post) -> Message:
    """Run the reminder job six days before the post expires; return the DM it sent."""
    factory, settings = slack.services.session_factory, slack.settings
    now = post.expires_at - timedelta(days=6)
    assert send_expiry_reminders(factory, settings=settings, now=now) == 1
    assert send_expiry_reminders(factory, settings=settings, now=now + timedelta(hours=1)) == 0
    slack.settle()
    assert post.member is not None and post.member.slack_user_id
    dms = slack.fake.dms(post.member.slack_user_id)
    reminders = [m for m in dms if "closes on" in text_of(m)]
    assert len(reminders) == 1, "one reminder, however often the job runs"
    return reminders[0]


def _stored(slack: SlackDriver, post_id: int) -> Post:
    with slack.services.session_factory() as session:
        post = session.get(Post, post_id)
        assert post is not None
        return post


def _buttons(message: Message) -> list[tuple[str, str, str]]:
    return [
        (e["text"]["text"], e["action_id"], e["value"])
        for b in message.blocks or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_the_owner_is_reminded_before_expiry_with_three_buttons(pg_slack: SlackDriver) -> None:
    devon = pg_slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    post = _post(pg_slack, devon, "/want", "A records retention schedule for adult social care")
    reminder = _remind(pg_slack, post)
    validate_blocks(reminder.blocks)
    assert f"Want #{post.id}" in text_of(reminder)
    assert "records retention schedule" in text_of(reminder)
    assert _buttons(reminder) == [
        ("Still needed", ids.ACT_STILL_NEEDED, str(post.id)),
        ("Fulfilled", ids.ACT_FULFILLED, str(post.id)),
        ("Withdraw", ids.ACT_WITHDRAW, str(post.id)),
    ]
    assert _stored(pg_slack, post.id).reminded_at is not None


def test_an_offers_reminder_asks_whether_it_is_still_on_offer(pg_slack: SlackDriver) -> None:
    devon = pg_slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    post = _post(pg_slack, devon, "/offer", "Our lessons-learnt toolkit and how we ran it")
    reminder = _remind(pg_slack, post)
    validate_blocks(reminder.blocks)
    assert [b[0] for b in _buttons(reminder)] == ["Still on offer", "Withdraw"]


def test_still_needed_keeps_the_post_open_for_another_period(pg_slack: SlackDriver) -> None:
    devon = pg_slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    post = _post(pg_slack, devon, "/want", "A records retention schedule for adult social care")
    reminder = _remind(pg_slack, post)

    before = pg_slack.services.clock()
    pg_slack.click(
        devon, ids.ACT_STILL_NEEDED, str(post.id), channel=reminder.channel, message_ts=reminder.ts
    )
    pg_slack.settle()

    kept = _stored(pg_slack, post.id)
    assert kept.status == PostStatus.OPEN and kept.reminded_at is None
    assert kept.expires_at >= before + timedelta(days=89)
    # The reminder is replaced by the answer, so its buttons cannot be pressed twice.
    replaced = pg_slack.fake.message(reminder.channel, reminder.ts)
    assert replaced is not None and "stays open until" in replaced.text
    assert _buttons(replaced) == []
    # The card shows the new date.
    card = pg_slack.fake.messages(MARKET)[0]
    assert card.edited and kept.expires_at.strftime("%-d %b %Y") in text_of(card)
    # And the next reminder comes before the new date, once.
    factory, settings = pg_slack.services.session_factory, pg_slack.settings
    assert (
        send_expiry_reminders(factory, settings=settings, now=kept.expires_at - timedelta(days=8))
        == 0
    )
    assert (
        send_expiry_reminders(factory, settings=settings, now=kept.expires_at - timedelta(days=6))
        == 1
    )


def test_fulfilled_on_the_reminder_closes_the_want_and_asks_what_it_saved(
    pg_slack: SlackDriver,
) -> None:
    devon = pg_slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    post = _post(pg_slack, devon, "/want", "A records retention schedule for adult social care")
    reminder = _remind(pg_slack, post)
    pg_slack.click(
        devon, ids.ACT_FULFILLED, str(post.id), channel=reminder.channel, message_ts=reminder.ts
    )
    pg_slack.settle()
    assert _stored(pg_slack, post.id).status == PostStatus.FULFILLED
    modal = pg_slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == ids.VIEW_OUTCOME
    assert "This want is fulfilled." in text_of(pg_slack.fake.messages(MARKET)[0])


def test_withdraw_on_the_reminder_withdraws_the_post(pg_slack: SlackDriver) -> None:
    devon = pg_slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    post = _post(pg_slack, devon, "/want", "A records retention schedule for adult social care")
    reminder = _remind(pg_slack, post)
    pg_slack.click(
        devon, ids.ACT_WITHDRAW, str(post.id), channel=reminder.channel, message_ts=reminder.ts
    )
    pg_slack.settle()
    assert _stored(pg_slack, post.id).status == PostStatus.WITHDRAWN
    assert "This want is withdrawn." in text_of(pg_slack.fake.messages(MARKET)[0])
    assert any(
        f"Closed Want #{post.id} as withdrawn" in e.text for e in pg_slack.fake.ephemerals(devon)
    )


def test_someone_else_cannot_keep_a_post_open(pg_slack: SlackDriver) -> None:
    devon = pg_slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = pg_slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    post = _post(pg_slack, devon, "/want", "A records retention schedule for adult social care")
    _post(pg_slack, lewisham, "/offer", "Our customer insight dashboard")
    pg_slack.click(lewisham, ids.ACT_STILL_NEEDED, str(post.id))
    pg_slack.settle()
    assert f"You have no post #{post.id}." in pg_slack.fake.ephemerals(lewisham)[-1].text
    assert _stored(pg_slack, post.id).expires_at == post.expires_at


def test_a_post_expires_after_its_reminder_and_can_be_reopened(pg_slack: SlackDriver) -> None:
    devon = pg_slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    post = _post(pg_slack, devon, "/want", "A records retention schedule for adult social care")
    factory, settings = pg_slack.services.session_factory, pg_slack.settings
    assert expire_posts(factory, settings=settings, now=post.expires_at - timedelta(minutes=1)) == 0
    _remind(pg_slack, post)
    assert expire_posts(factory, settings=settings, now=post.expires_at + timedelta(minutes=1)) == 1
    assert expire_posts(factory, settings=settings, now=post.expires_at + timedelta(hours=1)) == 0
    pg_slack.settle()

    assert _stored(pg_slack, post.id).status == PostStatus.EXPIRED
    card = pg_slack.fake.messages(MARKET)[0]
    assert "This want is expired." in text_of(card) and ids.ACT_CAN_HELP not in text_of(card)
    notice = [m for m in pg_slack.fake.dms(devon) if "has expired" in text_of(m)]
    assert len(notice) == 1
    validate_blocks(notice[0].blocks)
    assert _buttons(notice[0]) == [("Still needed — reopen", ids.ACT_STILL_NEEDED, str(post.id))]

    pg_slack.click(
        devon,
        ids.ACT_STILL_NEEDED,
        str(post.id),
        channel=notice[0].channel,
        message_ts=notice[0].ts,
    )
    pg_slack.settle()
    reopened = _stored(pg_slack, post.id)
    assert reopened.status == PostStatus.OPEN
    assert reopened.expires_at > pg_slack.services.clock() + timedelta(days=89)
    assert ids.ACT_CAN_HELP in text_of(pg_slack.fake.messages(MARKET)[0])


def test_a_post_is_never_expired_before_its_owner_was_asked(world: WorkerWorld) -> None:
    council = world.council("Devon County Council")
    jo = world.member("U0JO", council, "Jo Bloggs")
    created = utc(2027, 1, 1, 12)
    post_id = world.post(jo, "A records retention schedule", created_at=created)
    expires = created + timedelta(days=90)
    factory, settings = world.services.session_factory, world.settings
    # The worker was down through the reminder week: the owner still gets time to answer.
    late = expires + timedelta(days=2)
    assert expire_posts(factory, settings=settings, now=late) == 0
    assert send_expiry_reminders(factory, settings=settings, now=late) == 1
    assert expire_posts(factory, settings=settings, now=late + timedelta(days=3)) == 0
    assert expire_posts(factory, settings=settings, now=late + timedelta(days=4)) == 1
    world.deliver()
    texts = [text_of(m) for m in world.fake.dms("U0JO")]
    assert len(texts) == 2 and "closes on" in texts[0] and "has expired" in texts[1]
    with factory() as session:
        post = session.get(Post, post_id)
        assert post is not None and post.status == PostStatus.EXPIRED


def test_a_post_nobody_can_be_asked_about_simply_expires(world: WorkerWorld) -> None:
    council = world.council("Devon County Council")
    jo = world.member("U0JO", council, "Jo Bloggs")
    with world.services.session_factory.begin() as session:
        member = session.get(Member, jo)
        assert member is not None
        member.slack_user_id = None  # e.g. imported from a workshop's flip chart
    created = utc(2027, 1, 1, 12)
    world.post(jo, "A records retention schedule", created_at=created)
    factory, settings = world.services.session_factory, world.settings
    assert send_expiry_reminders(factory, settings=settings, now=created + timedelta(days=85)) == 0
    expired = created + timedelta(days=90, seconds=1)
    assert expire_posts(factory, settings=settings, now=expired) == 1


def test_the_weekly_digest_lists_new_and_unmatched_posts_once_on_monday_morning(
    world: WorkerWorld,
) -> None:
    devon = world.council("Devon County Council")
    leeds = world.council("Leeds City Council")
    jo = world.member("U0JO", devon, "Jo Bloggs")
    sam = world.member("U0SAM", leeds, "Sam Patel")
    monday = utc(2027, 1, 11, 9, 0)  # 09:00 GMT
    world.post(
        jo,
        "An old want nobody has met: a data quality framework",
        created_at=monday - timedelta(days=30),
    )
    met = world.post(
        jo, "An old want that was met: a retention schedule", created_at=monday - timedelta(days=20)
    )
    offer = world.post(
        sam,
        "An old offer: our retention schedule",
        kind=PostKind.OFFER,
        created_at=monday - timedelta(days=19),
    )
    world.confirm(met, offer)
    world.post(
        sam,
        "A new offer: lessons-learnt toolkit & <templates>",
        kind=PostKind.OFFER,
        created_at=monday - timedelta(days=2),
    )
    factory, settings = world.services.session_factory, world.settings

    # Last week's digest is long past its window, and this week's is not due yet.
    assert not send_weekly_digest(factory, settings=settings, now=monday - timedelta(minutes=1))
    before = 0
    assert send_weekly_digest(factory, settings=settings, now=monday + timedelta(seconds=30))
    assert not send_weekly_digest(factory, settings=settings, now=monday + timedelta(minutes=5))
    assert not send_weekly_digest(factory, settings=settings, now=monday + timedelta(days=2))
    assert len(world.outbox("digest")) == before + 1
    world.deliver()
    digests = world.messages(MARKET)
    assert len(digests) == before + 1
    digest = digests[-1]
    validate_blocks(digest.blocks)
    body = text_of(digest)
    assert "The marketplace this week (11 Jan 2027)" in body
    assert "New in the last week (1)" in body
    assert "lessons-learnt toolkit &amp; &lt;templates&gt;" in body
    assert "Still waiting for a match (1)" in body and "data quality framework" in body
    assert "retention schedule" not in body, "matched posts are not listed"
    # In summer the digest is still at 09:00 London time: 08:00 UTC.
    summer = utc(2027, 6, 7, 8, 0, 30)
    assert send_weekly_digest(factory, settings=settings, now=summer)
    assert world.outbox("digest")[-1].dedupe_key == "digest:2027-06-07"
