"""Scenario: the three shortcuts (post a message as a want or offer, post from anywhere,
report a card) through the real Bolt app and the fake Slack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import SIGNING_SECRET, make_settings
from featurekit import (
    COP,
    MARKET,
    answer,
    driver,
    global_shortcut,
    message_shortcut,
    post_values,
    say,
)
from slackkit import SlackDriver, validate_view
from sqlalchemy import select

from bot.devtools.fakeslack import FakeSlack
from bot.slack import ids
from storage.models import AuditEntry, IntakeRequest, Post

FACILITATOR = "U0FACIL"
QUESTION = "Has anyone got a records retention schedule for a London borough? & <thanks>"


@pytest.fixture
def slack(database_url: str, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    """The app on both engines, with a facilitator configured."""
    settings = make_settings(database_url, fake_slack, facilitators=(FACILITATOR,))
    with driver(settings, fake_slack, SIGNING_SECRET) as slack:
        slack.user(FACILITATOR, "Alex Fac", "alex@kmnetwork.org.uk")
        yield slack


def _members(slack: SlackDriver) -> tuple[str, str]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    return devon, lewisham


def test_a_question_in_a_community_becomes_a_want_in_two_clicks(slack: SlackDriver) -> None:
    _devon, lewisham = _members(slack)
    ts = say(slack, lewisham, COP, QUESTION)
    resp = message_shortcut(slack, lewisham, ids.SC_POST_FROM_MESSAGE, COP, ts)
    assert resp.status == 200
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == ids.VIEW_POST
    assert modal["title"]["text"] == "Post a want or offer"
    text_input = next(b for b in modal["blocks"] if b["block_id"] == ids.BLK_TEXT)["element"]
    # What the member typed, not Slack's escaped copy.
    assert text_input["initial_value"] == QUESTION
    kind = next(b for b in modal["blocks"] if b["block_id"] == ids.BLK_KIND)["element"]
    assert kind["initial_option"]["value"] == "want"

    resp = slack.submit(lewisham, modal, post_values(QUESTION, kind="want"))
    assert resp.status == 200 and answer(resp) == {}
    slack.settle()
    cards = slack.fake.messages(MARKET)
    assert len(cards) == 1
    assert "Want #1" in cards[0].blocks[0]["text"]["text"]
    assert "records retention schedule" in cards[0].blocks[0]["text"]["text"]
    assert "&amp; &lt;thanks&gt;" in cards[0].blocks[0]["text"]["text"]
    with slack.services.session_factory() as session:
        post = session.scalars(select(Post)).one()
        assert (post.kind, post.text) == ("want", QUESTION)
        # The form went through the durable intake, as the ordinary post form does.
        jobs = session.scalars(select(IntakeRequest.job).where(IntakeRequest.job.is_not(None)))
        assert "post_form" in list(jobs)


def test_the_member_can_make_it_an_offer_instead(slack: SlackDriver) -> None:
    devon, _ = _members(slack)
    ts = say(slack, devon, COP, "We share our lessons-learnt toolkit with anyone")
    message_shortcut(slack, devon, ids.SC_POST_FROM_MESSAGE, COP, ts)
    slack.settle()
    modal = slack.last_modal()
    slack.submit(devon, modal, post_values("Our lessons-learnt toolkit", kind="offer"))
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    assert "Offer #1" in card.blocks[0]["text"]["text"]


def test_the_global_shortcut_opens_the_empty_form_with_its_checks(slack: SlackDriver) -> None:
    devon, _ = _members(slack)
    assert global_shortcut(slack, devon, ids.SC_POST_GLOBAL).status == 200
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    text_input = next(b for b in modal["blocks"] if b["block_id"] == ids.BLK_TEXT)["element"]
    assert "initial_value" not in text_input
    resp = slack.submit(devon, modal, post_values("ab", kind="offer"))
    assert answer(resp)["response_action"] == "errors"
    assert "too short" in answer(resp)["errors"][ids.BLK_TEXT]
    slack.settle()
    assert slack.fake.messages(MARKET) == []


def _card(slack: SlackDriver, author: str) -> tuple[str, str]:
    slack.slash(author, "/want", "A template information asset register for a district")
    slack.settle()
    card = slack.fake.messages(MARKET)[-1]
    return card.ts, card.blocks[0]["text"]["text"]


def test_reporting_a_card_reaches_the_facilitators_review_list(slack: SlackDriver) -> None:
    devon, lewisham = _members(slack)
    slack.slash(FACILITATOR, "/km-admin", "reports")
    slack.settle()
    assert "No member has reported a card" in slack.fake.ephemerals(FACILITATOR)[-1].text
    ts, _ = _card(slack, lewisham)
    message_shortcut(slack, devon, ids.SC_REPORT, MARKET, ts)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == ids.VIEW_REPORT and "Want #1" in str(modal["blocks"])

    empty = slack.submit(devon, modal, {ids.BLK_REPORT_NOTE: {ids.ACT_REPORT_NOTE: {"value": " "}}})
    assert answer(empty)["errors"][ids.BLK_REPORT_NOTE] == "Please say what's wrong."
    long = slack.submit(
        devon, modal, {ids.BLK_REPORT_NOTE: {ids.ACT_REPORT_NOTE: {"value": "x" * 501}}}
    )
    assert "under 500 characters" in answer(long)["errors"][ids.BLK_REPORT_NOTE]
    slack.settle()
    assert slack.fake.dms(FACILITATOR) == []  # refused in the form: nothing was sent

    note = "It names a member of the public <script>"
    slack.submit(devon, modal, {ids.BLK_REPORT_NOTE: {ids.ACT_REPORT_NOTE: {"value": note}}})
    slack.settle()
    told = slack.fake.dms(FACILITATOR)[-1]
    assert "<@U0DEVON> reported *Want #1*" in told.blocks[0]["text"]["text"]
    assert "&lt;script&gt;" in told.blocks[0]["text"]["text"]
    assert "/km-admin remove 1" in str(told.blocks)
    assert "passed your report on *Want #1*" in slack.fake.dms(devon)[-1].text
    with slack.services.session_factory() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "post.report")).one()
        assert entry.actor == devon and entry.target == "Want #1"
        assert entry.after is not None and entry.after["note"] == note
    # The review list: the facilitators' audit log, filtered to reports.
    slack.slash(FACILITATOR, "/km-admin", "audit post.report")
    slack.settle()
    listed = slack.fake.ephemerals(FACILITATOR)[-1].text
    assert "post.report" in listed and "Want #1" in listed
    slack.slash(FACILITATOR, "/km-admin", "reports 5")
    slack.settle()
    listed = slack.fake.ephemerals(FACILITATOR)[-1].text
    assert (
        "<@U0DEVON>" in listed and "Want #1" in listed and "names a member of the public" in listed
    )
    slack.slash(FACILITATOR, "/km-admin", "reports lots")
    slack.settle()
    assert "Say how many reports to show" in slack.fake.ephemerals(FACILITATOR)[-1].text


def test_reporting_a_message_that_is_not_a_card_is_explained(slack: SlackDriver) -> None:
    devon, _ = _members(slack)
    ts = say(slack, devon, COP, "Just chatting")
    message_shortcut(slack, devon, ids.SC_REPORT, COP, ts)
    slack.settle()
    assert slack.fake.views_opened() == []
    assert "Only kmbot's cards" in slack.fake.ephemerals(devon)[-1].text
    assert slack.fake.dms(FACILITATOR) == []
