"""Scenario: the welcome DM, /km away and /km back, App Home's away buttons, and answering a
follow-up DM, through the real Bolt app and the fake Slack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from conftest import PINNED_AT, SIGNING_SECRET, make_settings
from featurekit import driver
from slackkit import TEAM_ID, SlackDriver, validate_blocks, validate_view

from bot.devtools.fakeslack import FakeSlack, Message
from bot.kernel.settings import Settings
from bot.reports.stats import collect
from bot.worker import Worker
from storage.models import Introduction, IntroductionStatus, Member, OutboxMessage, Post

MARKET = "C0MARKET"
# Ten days after the tests' pinned instant (a Wednesday): the first follow-ups are due.
TEN_DAYS_ON = PINNED_AT + timedelta(days=10, minutes=1)


def _joined(slack: SlackDriver, user: str, channel: str = MARKET) -> None:
    """Someone joins a channel: Slack's member_joined_channel event."""
    joined = {
        "type": "member_joined_channel",
        "user": user,
        "channel": channel,
        "channel_type": "C",
        "team": TEAM_ID,
    }
    assert slack.event(joined).status == 200
    slack.settle()


def _said(slack: SlackDriver, user: str) -> str:
    return slack.fake.ephemerals(user)[-1].text


def _km(slack: SlackDriver, user: str, text: str) -> str:
    """`/km <text>`, done; what the member was told."""
    slack.slash(user, "/km", text)
    slack.settle()
    return _said(slack, user)


def _post(slack: SlackDriver, user: str, command: str, text: str) -> None:
    slack.slash(user, command, text)
    slack.settle()


def _member(slack: SlackDriver, user: str) -> Member:
    with slack.services.session_factory() as session:
        member = session.query(Member).filter_by(slack_user_id=user).one()
        session.expunge(member)
        return member


def _introduction(slack: SlackDriver, intro_id: str) -> Introduction:
    with slack.services.session_factory() as session:
        intro = session.get(Introduction, int(intro_id))
        assert intro is not None
        session.expunge(intro)
        return intro


# ---------------------------------------------------------------- welcome


def test_a_newcomer_to_the_marketplace_gets_one_welcome_ever(pg_slack: SlackDriver) -> None:
    slack = pg_slack  # on SQLite and PostgreSQL
    newcomer = slack.user("U0NEW", "Kim Ng", "kim.ng@kent.gov.uk")
    _joined(slack, newcomer)
    (welcome,) = slack.fake.dms(newcomer)
    validate_blocks(welcome.blocks)
    text = str(welcome.blocks)
    for words in ("/want", "/offer", "/km help", "/km join", "which council you work for"):
        assert words in text, words
    _joined(slack, newcomer)  # left and came back
    assert len(slack.fake.dms(newcomer)) == 1


def test_a_member_is_welcomed_once_and_it_is_remembered(slack: SlackDriver) -> None:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    _post(slack, devon, "/offer", "Information asset register (IAR) template and guidance")
    _joined(slack, devon)
    with slack.services.session_factory() as session:
        assert session.query(OutboxMessage).filter_by(kind="welcome", channel=devon).count() == 1
    assert "already told me your council" in str(slack.fake.dms(devon)[-1].blocks)
    _joined(slack, devon)
    assert len([m for m in slack.fake.dms(devon) if "Welcome" in m.text]) == 1


def test_bots_and_other_channels_get_no_welcome(slack: SlackDriver) -> None:
    slack.fake.workspace.add_user("U0OTHERBOT", name="otherbot", is_bot=True, team_id=TEAM_ID)
    _joined(slack, "U0OTHERBOT")
    assert slack.fake.dms("U0OTHERBOT") == []
    person = slack.user("U0NEW", "Kim Ng", "kim.ng@kent.gov.uk")
    slack.fake.add_channel("C0RANDOM", "random")
    _joined(slack, person, channel="C0RANDOM")
    assert slack.fake.dms(person) == []
    _joined(slack, person)  # the marketplace itself: welcomed, as only a person there is
    assert len(slack.fake.dms(person)) == 1


def test_the_marketplace_named_rather_than_by_id_is_recognised(
    settings: Settings, fake_slack: FakeSlack
) -> None:
    named = settings.with_(marketplace_channel="km-marketplace")
    with driver(named, fake_slack, SIGNING_SECRET) as slack:
        person = slack.user("U0NEW", "Kim Ng", "kim.ng@kent.gov.uk")
        slack.fake.add_channel("C0RANDOM", "random")
        _joined(slack, person, channel="C0RANDOM")  # Slack says it is #random: no welcome
        assert slack.fake.dms(person) == []
        _joined(slack, person)  # C0MARKET, which Slack says is #km-marketplace
        assert len(slack.fake.dms(person)) == 1
        other = slack.user("U0OTHER", "Lee Fox", "lee.fox@kent.gov.uk")
        _joined(slack, other, channel="C0RANDOM")
        _joined(slack, other)
        assert len(slack.fake.dms(other)) == 1
        # Slack is asked once per channel which it is, not on every join.
        asked = [c.params.get("channel") for c in slack.fake.calls_to("conversations.info")]
        assert sorted(asked) == ["C0MARKET", "C0RANDOM"]


# ---------------------------------------------------------------- away and back


def _matched_offer(slack: SlackDriver) -> tuple[str, str]:
    """Devon offers an IAR template; Lewisham (who will want one) is in the workspace."""
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    _post(slack, devon, "/offer", "Information asset register (IAR) template and guidance")
    return devon, lewisham


def _lewisham_wants_it(slack: SlackDriver, lewisham: str) -> None:
    _post(slack, lewisham, "/want", "How do we set up an information asset register?")


def test_away_holds_introductions_until_km_back(pg_slack: SlackDriver) -> None:
    slack = pg_slack  # on SQLite and PostgreSQL
    devon, lewisham = _matched_offer(slack)
    assert "You're away until *5 Jan 2028*" in _km(slack, devon, "away until 5 January")
    _lewisham_wants_it(slack, lewisham)
    want_card = slack.fake.messages(MARKET)[1]
    assert slack.fake.thread(MARKET, want_card.ts) == []  # held: Devon is away
    told = str(slack.fake.ephemerals(lewisham)[-1].blocks)  # the /want's confirmation
    assert "You match Offer #1 (Devon County Council), but one of you is away" in told
    with slack.services.session_factory() as session:
        intro = session.query(Introduction).one()
        assert intro.held_at is not None
    assert "I've made the 1 introduction I held" in _km(slack, devon, "back")
    (intro_message,) = slack.fake.thread(MARKET, want_card.ts)
    assert "<@U0DEVON>" in str(intro_message.blocks) and "<@U0LEWIS>" in str(intro_message.blocks)
    assert _member(slack, devon).away_until is None


def test_the_worker_makes_held_introductions_when_the_day_comes(slack: SlackDriver) -> None:
    devon, lewisham = _matched_offer(slack)
    assert "21 Jun 2027" in _km(slack, devon, "away until next Monday")
    _lewisham_wants_it(slack, lewisham)
    want_card = slack.fake.messages(MARKET)[1]
    sunday = datetime(2027, 6, 20, 22, 0, tzinfo=UTC)  # 23:00 BST on Sunday: still away
    assert Worker(slack.services, clock=lambda: sunday).follow_ups().released_introductions == 0
    monday = datetime(2027, 6, 20, 23, 30, tzinfo=UTC)  # 00:30 BST on Monday: back
    assert Worker(slack.services, clock=lambda: monday).follow_ups().released_introductions == 1
    slack.settle()
    assert len(slack.fake.thread(MARKET, want_card.ts)) == 1
    assert _member(slack, devon).away_until is None


def test_bad_dates_are_explained_and_change_nothing(slack: SlackDriver) -> None:
    devon, _ = _matched_offer(slack)
    for typed, says in (
        ("away until the twelfth of never", "I can't read “the twelfth of never” as a date"),
        ("away until 31/02/2028", "“31/02/2028” isn't a real date."),
        ("away until 01/06/2027", "1 June 2027 isn't in the future"),
        ("away until today", "isn't in the future"),
        ("away until 05/01/2029", "5 January 2029 is more than a year away"),
    ):
        assert says in _km(slack, devon, typed), typed
        assert _member(slack, devon).away_until is None


def test_away_needs_a_member_and_back_when_not_away_says_so(slack: SlackDriver) -> None:
    stranger = slack.user("U0NEW", "Kim Ng", "kim.ng@kent.gov.uk")
    assert "You haven't joined the marketplace yet" in _km(slack, stranger, "away until 5 January")
    devon, _ = _matched_offer(slack)
    assert "You weren't away" in _km(slack, devon, "back")
    assert "`/km away until 5 January`" in _km(slack, devon, "away")


def test_help_lists_away_and_back(slack: SlackDriver) -> None:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    said = _km(slack, devon, "help")
    assert "/km away until" in said and "/km back" in said


def test_app_home_away_modal_and_im_back(slack: SlackDriver) -> None:
    devon, _ = _matched_offer(slack)
    slack.home_opened(devon)
    slack.settle()
    home = slack.fake.home_view(devon)
    assert home is not None and "Away until…" in str(home["blocks"])
    slack.click(devon, "home_away", "away", view=home)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    refused = slack.submit(devon, modal, {"away_date_block": {"away_date": {"value": "soon"}}})
    assert refused.status == 200
    errors = json.loads(refused.body)["errors"]
    assert errors["away_date_block"].startswith("I can't read “soon” as a date.")
    assert _member(slack, devon).away_until is None
    slack.submit(devon, modal, {"away_date_block": {"away_date": {"value": "05/01/2028"}}})
    slack.settle()
    home = slack.fake.home_view(devon)
    assert home is not None
    validate_view(home)
    shown = str(home["blocks"])
    assert "You're away until *5 Jan 2028*" in shown and "I'm back" in shown
    slack.click(devon, "home_back", "back", view=home)
    slack.settle()
    assert _member(slack, devon).away_until is None
    home = slack.fake.home_view(devon)
    assert home is not None and "Away until…" in str(home["blocks"])
    assert "Welcome back. Nothing was held while you were away." in str(home["blocks"])


def test_the_away_modal_from_someone_who_never_joined_explains_by_dm(slack: SlackDriver) -> None:
    stranger = slack.user("U0NEW", "Kim Ng", "kim.ng@kent.gov.uk")
    slack.home_opened(stranger)
    slack.settle()
    slack.click(stranger, "home_away", "away", view=slack.fake.home_view(stranger))
    slack.settle()
    answered = slack.submit(
        stranger, slack.last_modal(), {"away_date_block": {"away_date": {"value": "05/01/2028"}}}
    )
    slack.settle()
    assert answered.status == 200 and not (answered.body or "").strip(), "a plain ack"
    assert "You haven't joined the marketplace yet" in slack.fake.dms(stranger)[-1].text


def test_expiry_reminders_wait_while_away(slack: SlackDriver) -> None:
    from bot.services.reminders import send_expiry_reminders

    devon, _ = _matched_offer(slack)
    _km(slack, devon, "away until 5 January")
    soon = PINNED_AT + timedelta(days=85)  # the offer closes in five days
    factory, settings = slack.services.session_factory, slack.settings
    assert send_expiry_reminders(factory, settings=settings, now=soon) == 0
    _km(slack, devon, "back")
    assert send_expiry_reminders(factory, settings=settings, now=soon) == 1


def test_coming_back_early_is_explained(slack: SlackDriver) -> None:
    devon, _ = _matched_offer(slack)
    said = _km(slack, devon, "away until 5 January")
    assert "Back early? Type `/km back`, or press “I'm back” on my Home tab." in said
    assert "You're away until *5 Jan 2028*. Back early?" in _km(slack, devon, "away")
    said = _km(slack, devon, "away cancel")
    assert said == "Welcome back. Nothing was held while you were away."
    assert _member(slack, devon).away_until is None
    assert "Back early? `/km back`." in _km(slack, devon, "away")


def test_i_can_help_with_someone_away_says_it_waits_for_their_return(slack: SlackDriver) -> None:
    kent = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
    wilts = slack.user("U0WILTS", "Ann Lee", "ann.lee@wiltshire.gov.uk")
    _post(slack, kent, "/want", "Staff survey on hybrid working")
    _km(slack, kent, "away until 5 January")
    _post(slack, wilts, "/offer", "Our community area boards model")
    want_card = slack.fake.messages(MARKET)[0]
    slack.click(wilts, "card_can_help", "1", message_ts=want_card.ts)
    slack.settle()
    said = _said(slack, wilts)
    assert "one of you is away" in said and "as soon as they're back" in said
    assert "Done" not in said
    assert slack.fake.thread(MARKET, want_card.ts) == []
    with slack.services.session_factory() as session:
        assert collect(session).introductions_made == 0, "held: not made yet"
    _km(slack, kent, "back")
    (made,) = slack.fake.thread(MARKET, want_card.ts)
    with slack.services.session_factory() as session:
        assert collect(session).introductions_made == 1
    assert "<@U0KENT>" in str(made.blocks) and "<@U0WILTS>" in str(made.blocks)


def test_an_offer_posted_to_help_someone_away_is_not_reported_as_introduced(
    slack: SlackDriver,
) -> None:
    kent = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
    wilts = slack.user("U0WILTS", "Ann Lee", "ann.lee@wiltshire.gov.uk")
    _post(slack, kent, "/want", "Staff survey on hybrid working")
    _km(slack, kent, "away until 5 January")
    _km(slack, wilts, "join Wiltshire Council")
    want_card = slack.fake.messages(MARKET)[0]
    slack.click(wilts, "card_can_help", "1", message_ts=want_card.ts)  # no offer yet: the modal
    slack.settle()
    typed = {"type": "plain_text_input", "value": "Our hybrid working staff survey questions"}
    slack.submit(wilts, slack.last_modal(), {"text_block": {"text": typed}})
    slack.settle()
    told = str([m.blocks for m in slack.fake.dms(wilts)])  # the modal's reply comes by DM
    assert "your offer is posted as *Offer #2*" in told
    assert "I've introduced you" not in told, "held: nobody has been introduced yet"
    assert "You match Want #1 (Kent County Council), but one of you is away" in told
    assert "No match yet" not in told
    assert slack.fake.thread(MARKET, want_card.ts) == []
    _km(slack, kent, "back")
    assert len(slack.fake.thread(MARKET, want_card.ts)) == 1


def test_a_facilitator_is_told_when_their_introduction_waits_for_someone_away(
    database_url: str, fake_slack: FakeSlack
) -> None:
    settings = make_settings(database_url, fake_slack, facilitators=("U0FACIL",))
    with driver(settings, fake_slack, SIGNING_SECRET) as slack:
        facilitator = slack.user("U0FACIL", "Alex Fac", "alex@kmnetwork.org.uk")
        kent = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
        wilts = slack.user("U0WILTS", "Ann Lee", "ann.lee@wiltshire.gov.uk")
        _post(slack, kent, "/want", "Staff survey on hybrid working")
        _post(slack, wilts, "/offer", "Our community area boards model")
        _km(slack, kent, "away until 5 January")
        slack.slash(facilitator, "/km-admin", "introduce 1 2")
        slack.settle()
        said = _said(slack, facilitator)
        assert "one of them is away" in said and "as soon as they're back" in said
        assert "Introduced want" not in said
        slack.slash(facilitator, "/km-admin", "why 1 2")
        slack.settle()
        why = _said(slack, facilitator)
        assert "waits until the one who is away is back" in why
        assert "They were introduced" not in why


# ---------------------------------------------------------------- held introductions: released,
# dropped, never in the way


def _three_way(slack: SlackDriver) -> tuple[str, str, str]:
    """Devon offers an IAR template and goes away; Lewisham and Kent then want one."""
    devon, lewisham = _matched_offer(slack)
    kent = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
    _km(slack, devon, "away until next Monday")
    _lewisham_wants_it(slack, lewisham)
    _post(slack, kent, "/want", "Information asset register (IAR) template, please")
    with slack.services.session_factory() as session:
        held = session.query(Introduction).filter(Introduction.held_at.is_not(None)).count()
    assert held == 2
    return devon, lewisham, kent


def _thread_of_want(slack: SlackDriver, n: int) -> list[Message]:
    cards = slack.fake.messages(MARKET)
    return slack.fake.thread(MARKET, cards[n].ts)


def test_a_held_introduction_is_hidden_until_it_is_made(slack: SlackDriver) -> None:
    devon, lewisham, _ = _three_way(slack)
    # Lewisham is not shown (nor asked to answer) an introduction that has not been made.
    slack.home_opened(lewisham)
    slack.settle()
    home = slack.fake.home_view(lewisham)
    assert home is not None and "Your introductions (0)" in str(home["blocks"])
    assert "none yet" in _km(slack, lewisham, "mine")
    with slack.services.session_factory() as session:
        held_id = session.query(Introduction.id).order_by(Introduction.id).limit(1).scalar()
    slack.click(lewisham, "intro_useful", str(held_id))
    slack.settle()
    assert "hasn't been made yet" in _said(slack, lewisham)
    assert _introduction(slack, str(held_id)).status == IntroductionStatus.PROPOSED


def test_a_held_introduction_whose_want_closed_is_dropped_when_they_come_back(
    pg_slack: SlackDriver,
) -> None:
    slack = pg_slack  # on SQLite and PostgreSQL
    devon, lewisham, kent = _three_way(slack)
    _km(slack, lewisham, "close 2")  # Lewisham's want: found elsewhere meanwhile
    assert _km(slack, devon, "away off") == (  # back early
        "Welcome back. I've made the 1 introduction I held while you were away: look in the "
        "card's thread. 1 other was dropped, because a post closed meanwhile."
    )
    assert _thread_of_want(slack, 1) == []  # Lewisham's closed want: nothing said
    (made,) = _thread_of_want(slack, 2)  # Kent's: introduced now
    assert "<@U0KENT>" in str(made.blocks) and "<@U0DEVON>" in str(made.blocks)
    with slack.services.session_factory() as session:
        (left,) = session.query(Introduction).all()
        assert left.held_at is None and left.follow_up_due_at is not None
    assert _member(slack, devon).away_until is None


def test_the_worker_drops_what_closed_and_makes_the_rest_on_the_day(slack: SlackDriver) -> None:
    devon, lewisham, kent = _three_way(slack)
    _km(slack, kent, "close 3")
    monday = datetime(2027, 6, 20, 23, 30, tzinfo=UTC)  # 00:30 BST on Monday 21 June
    report = Worker(slack.services, clock=lambda: monday).follow_ups()
    assert (report.released_introductions, report.dropped_introductions) == (1, 1)
    slack.settle()
    assert len(_thread_of_want(slack, 1)) == 1  # Lewisham's, made
    assert _thread_of_want(slack, 2) == []  # Kent's closed want: dropped, never sent
    again = Worker(slack.services, clock=lambda: monday).follow_ups()  # a second run: nothing
    assert (again.released_introductions, again.dropped_introductions) == (0, 0)
    with slack.services.session_factory() as session:
        assert session.query(Introduction).filter(Introduction.held_at.is_not(None)).count() == 0


def test_a_held_introduction_with_someone_who_was_forgotten_is_dropped(slack: SlackDriver) -> None:
    devon, lewisham, kent = _three_way(slack)
    _km(slack, kent, "forget-me confirm")
    with slack.services.session_factory() as session:
        # Kent's held introduction went with Kent's posts; Lewisham's still waits for Devon.
        (held,) = session.query(Introduction).all()
        assert held.held_at is not None
    said = _km(slack, devon, "back")
    assert "I've made the 1 introduction I held" in said
    assert "dropped" not in said


# ---------------------------------------------------------------- answering a follow-up


def _introduced(slack: SlackDriver) -> tuple[str, str]:
    devon, lewisham = _matched_offer(slack)
    _lewisham_wants_it(slack, lewisham)
    return devon, lewisham


@contextmanager
def _followed_up(slack: SlackDriver) -> Iterator[None]:
    """Ten days on (and staying then): the worker has sent the first follow-ups."""
    with time_machine.travel(TEN_DAYS_ON, tick=True):
        Worker(slack.services, clock=lambda: TEN_DAYS_ON).follow_ups()
        slack.settle()
        yield


def _follow_up_dm(slack: SlackDriver, user: str) -> Message:
    return [m for m in slack.fake.dms(user) if "Did it help?" in str(m.blocks)][-1]


def _dm_now(slack: SlackDriver, user: str, ts: str) -> Message:
    return [m for m in slack.fake.dms(user) if m.ts == ts][0]


def _buttons_of(message: Message) -> list[dict[str, Any]]:
    return [b for b in message.blocks if b["type"] == "actions"]


def _asked_about(dm: Message) -> str:
    """The introduction a follow-up DM (about one) asks about, as its buttons carry it."""
    (buttons,) = _buttons_of(dm)
    assert len({e["value"] for e in buttons["elements"]}) == 1
    return str(buttons["elements"][0]["value"])


def _press(slack: SlackDriver, user: str, action_id: str, intro_id: str, dm: Message) -> None:
    """A button on a follow-up DM pressed (``action_id``: intro_useful, intro_not_fit or
    intro_still_talking)."""
    slack.click(user, action_id, intro_id, message_ts=dm.ts, channel=dm.channel)
    slack.settle()


def test_useful_on_a_follow_up_answers_the_introduction(pg_slack: SlackDriver) -> None:
    slack = pg_slack  # on SQLite and PostgreSQL
    devon, lewisham = _introduced(slack)
    with _followed_up(slack):
        dm = _follow_up_dm(slack, lewisham)
        assert "Did you connect with <@U0DEVON> (Devon County Council)?" in str(dm.blocks)
        intro_id = _asked_about(dm)
        _press(slack, lewisham, "intro_useful", intro_id, dm)
    assert _introduction(slack, intro_id).status == IntroductionStatus.CONFIRMED
    with slack.services.session_factory() as session:
        stats = collect(session, now=TEN_DAYS_ON)
    assert stats.follow_ups.followed_up == 1 and stats.follow_ups.useful == 1
    card = slack.fake.messages(MARKET)[1]
    assert "Marked useful" in str(slack.fake.thread(MARKET, card.ts)[0].blocks)


def test_still_talking_on_a_follow_up_snoozes_it_a_week(slack: SlackDriver) -> None:
    devon, lewisham = _introduced(slack)
    with _followed_up(slack):
        dm = _follow_up_dm(slack, devon)
        intro_id = _asked_about(dm)
        stranger = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
        _press(slack, stranger, "intro_still_talking", intro_id, dm)
        assert "Only the two people introduced" in _said(slack, stranger)
        _press(slack, devon, "intro_still_talking", intro_id, dm)
        assert _said(slack, devon) == "Good to hear — I'll check in again on 3 Jul 2027."
    intro = _introduction(slack, intro_id)
    assert intro.status == IntroductionStatus.PROPOSED and intro.still_talking_at is not None
    assert intro.follow_up_due_at == intro.still_talking_at + timedelta(days=7)
    with slack.services.session_factory() as session:
        assert session.query(Post).count() == 2  # nothing else changed


# ---------------------------------------------------------------- a follow-up DM, once answered


def test_an_answered_follow_up_loses_its_buttons_and_says_what_was_answered(
    pg_slack: SlackDriver,
) -> None:
    slack = pg_slack  # on SQLite and PostgreSQL
    devon, lewisham = _introduced(slack)
    with _followed_up(slack):
        to_lewisham, to_devon = _follow_up_dm(slack, lewisham), _follow_up_dm(slack, devon)
        intro_id = _asked_about(to_lewisham)
        updates_before = len(slack.fake.calls_to("chat.update"))
        _press(slack, lewisham, "intro_useful", intro_id, to_lewisham)
        mine, theirs = _dm_now(slack, lewisham, to_lewisham.ts), _dm_now(slack, devon, to_devon.ts)
        for dm in (mine, theirs):
            validate_blocks(dm.blocks)
            assert _buttons_of(dm) == [] and dm.edited
            assert "Did you connect with" in str(dm.blocks)  # the question stays
            assert "I'll ask again in a week" not in str(dm.blocks)
        assert "You marked this useful — thank you." in str(mine.blocks)
        assert "<@U0LEWIS> marked this useful." in str(theirs.blocks)
        updates = len(slack.fake.calls_to("chat.update"))
        # The thread's introduction and both DMs were updated, once each.
        assert updates - updates_before == 3
        answered_at = _introduction(slack, intro_id).answered_at
        # The same stale button again, and Devon's from before the update: nothing recorded.
        _press(slack, lewisham, "intro_useful", intro_id, to_lewisham)
        assert _said(slack, lewisham) == "You've already marked that introduction useful."
        _press(slack, devon, "intro_not_fit", intro_id, to_devon)
        assert _said(slack, devon) == "That introduction has already been marked useful."
        _press(slack, devon, "intro_still_talking", intro_id, to_devon)
        assert _said(slack, devon) == "That introduction has already been marked useful."
        assert len(slack.fake.calls_to("chat.update")) == updates
    intro = _introduction(slack, intro_id)
    assert intro.status == IntroductionStatus.CONFIRMED
    assert intro.answered_at == answered_at and intro.still_talking_at is None
    with slack.services.session_factory() as session:
        stats = collect(session, now=TEN_DAYS_ON)
    assert stats.follow_ups.useful == 1 and stats.follow_ups.followed_up == 1


def test_still_talking_updates_the_dm_and_counts_once(slack: SlackDriver) -> None:
    devon, lewisham = _introduced(slack)
    with _followed_up(slack):
        to_devon, to_lewisham = _follow_up_dm(slack, devon), _follow_up_dm(slack, lewisham)
        intro_id = _asked_about(to_devon)
        _press(slack, devon, "intro_still_talking", intro_id, to_devon)
        dm = _dm_now(slack, devon, to_devon.ts)
        validate_blocks(dm.blocks)
        assert _buttons_of(dm) == []
        assert "You said you're still talking: I'll check in again on 3 Jul 2027." in str(dm.blocks)
        # Lewisham can still answer: their DM is as it was.
        assert len(_buttons_of(_dm_now(slack, lewisham, to_lewisham.ts))) == 1
        snoozed = _introduction(slack, intro_id)
        first = (snoozed.still_talking_at, snoozed.follow_up_due_at)
    with time_machine.travel(TEN_DAYS_ON + timedelta(days=1), tick=True):
        updates = len(slack.fake.calls_to("chat.update"))
        # Devon's stale button, and Lewisham's: the week is not pushed back.
        _press(slack, devon, "intro_still_talking", intro_id, to_devon)
        assert _said(slack, devon) == "Good to hear — I'll check in again on 3 Jul 2027."
        assert len(slack.fake.calls_to("chat.update")) == updates
        _press(slack, lewisham, "intro_still_talking", intro_id, to_lewisham)
        assert _said(slack, lewisham) == "Good to hear — I'll check in again on 3 Jul 2027."
        assert _buttons_of(_dm_now(slack, lewisham, to_lewisham.ts)) == []
    again = _introduction(slack, intro_id)
    assert (again.still_talking_at, again.follow_up_due_at) == first


# ---------------------------------------------------------------- personal data


def _file(slack: SlackDriver) -> dict[str, Any]:
    return dict(json.loads(slack.fake.files()[-1].content))


def test_my_data_shows_away_welcome_and_follow_ups(pg_slack: SlackDriver) -> None:
    slack = pg_slack  # on SQLite and PostgreSQL
    devon, lewisham = _introduced(slack)
    _joined(slack, devon)
    with _followed_up(slack):
        _km(slack, devon, "away until 5 January")
        _km(slack, devon, "my-data")
    data = _file(slack)
    me = data["member"]
    assert me["away_until"].startswith("2028-01-05T00:00:00")
    assert me["welcome_message_sent_at"] is not None
    assert me["last_follow_up_message_at"] is not None
    (intro,) = data["introductions"]
    assert intro["follow_ups_sent"] == 1
    assert intro["last_followed_up_at"] is not None and intro["next_follow_up_due_at"] is not None
    assert intro["held_while_someone_is_away_since"] is None
    assert {"still_talking_at", "no_response_recorded_at"} <= intro.keys()
    kinds = {m["kind"] for m in data["direct_messages_from_the_bot"]}
    assert {"welcome", "follow_up"} <= kinds


def test_forget_me_clears_away_welcome_and_the_other_persons_follow_up(
    pg_slack: SlackDriver,
) -> None:
    slack = pg_slack  # on SQLite and PostgreSQL
    devon, lewisham = _introduced(slack)
    _joined(slack, devon)
    with _followed_up(slack):
        to_lewisham = _follow_up_dm(slack, lewisham)
        _km(slack, devon, "away until 5 January")
        _km(slack, devon, "forget-me confirm")
    with slack.services.session_factory() as session:
        erased = session.query(Member).filter(Member.erased_at.is_not(None)).one()
        assert (erased.away_until, erased.last_follow_up_at) == (None, None)
        assert session.query(OutboxMessage).filter(OutboxMessage.channel == devon).count() == 0
        assert (
            session.query(OutboxMessage).filter(OutboxMessage.dedupe_key.like(f"%{devon}%")).count()
            == 0
        )
    # Lewisham's follow-up no longer names Devon, quotes Devon's offer or asks about it.
    dm = _dm_now(slack, lewisham, to_lewisham.ts)
    validate_blocks(dm.blocks)
    shown = json.dumps([dm.text, dm.blocks])
    for gone in ("U0DEVON", "Jo Bloggs", "IAR) template", "Devon County Council"):
        assert gone not in shown, gone
    assert _buttons_of(dm) == []
    assert "asked for their details to be erased" in shown
    # Should Devon's Slack account join the channel again, it is a newcomer: welcomed again.
    _joined(slack, devon)
    assert len([m for m in slack.fake.dms(devon) if "Welcome" in m.text]) == 2


def test_someone_only_welcomed_can_see_and_erase_it(slack: SlackDriver) -> None:
    newcomer = slack.user("U0NEW", "Kim Ng", "kim.ng@kent.gov.uk")
    _joined(slack, newcomer)
    _km(slack, newcomer, "my-data")
    data = _file(slack)
    assert data["member"] == {"slack_user_id": "U0NEW", "slack_team_id": TEAM_ID, "joined": False}
    assert [m["kind"] for m in data["direct_messages_from_the_bot"]] == ["welcome"]
    assert "Done" in _km(slack, newcomer, "forget-me confirm")
    with slack.services.session_factory() as session:
        (welcome,) = session.query(OutboxMessage).filter(OutboxMessage.kind == "welcome").all()
        assert (welcome.channel, welcome.dedupe_key, welcome.payload) == (
            None,
            None,
            {"cleared": True},
        )
    assert "holds nothing" in _km(slack, newcomer, "my-data")
