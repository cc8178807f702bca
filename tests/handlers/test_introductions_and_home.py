"""Scenario: answering introductions, card buttons, fulfilling a want, /km and App Home."""

from __future__ import annotations

from slackkit import SlackDriver, validate_blocks, validate_view

MARKET = "C0MARKET"


def _matched_pair(slack: SlackDriver) -> tuple[str, str, str]:
    """Devon offers an IAR; Lewisham wants one; returns (devon, lewisham, want card ts)."""
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    slack.slash(devon, "/offer", "Information asset register (IAR) template and guidance")
    slack.settle()
    slack.slash(lewisham, "/want", "How do we set up an information asset register?")
    slack.settle()
    return devon, lewisham, slack.fake.messages(MARKET)[1].ts


def _intro(slack: SlackDriver, want_ts: str):  # type: ignore[no-untyped-def]
    thread = slack.fake.thread(MARKET, want_ts)
    assert len(thread) == 1
    return thread[0]


def _intro_id(message) -> str:  # type: ignore[no-untyped-def]
    for block in message.blocks:
        if block["type"] == "actions":
            return block["elements"][0]["value"]
    raise AssertionError("no buttons on the introduction")


def test_a_party_confirms_and_everyone_sees_the_new_state(slack: SlackDriver) -> None:
    devon, lewisham, want_ts = _matched_pair(slack)
    intro = _intro(slack, want_ts)
    slack.click(lewisham, "intro_useful", _intro_id(intro), message_ts=intro.ts)
    slack.settle()
    updated = slack.fake.message(MARKET, intro.ts)
    assert updated is not None and updated.edited
    validate_blocks(updated.blocks)
    text = str(updated.blocks)
    assert "Marked useful" in text and "<@U0LEWIS>" in text
    assert not any(b["type"] == "actions" for b in updated.blocks)
    assert "marked useful" in slack.fake.ephemerals(lewisham)[-1].text
    assert "when your want is fulfilled" in slack.fake.ephemerals(lewisham)[-1].text


def test_the_offers_author_is_thanked_without_talk_of_their_want(slack: SlackDriver) -> None:
    devon, _lewisham, want_ts = _matched_pair(slack)
    intro = _intro(slack, want_ts)
    slack.click(devon, "intro_useful", _intro_id(intro), message_ts=intro.ts)
    slack.settle()
    assert slack.fake.ephemerals(devon)[-1].text == "Thanks — marked useful."


def test_a_stranger_is_politely_refused_and_nothing_changes(slack: SlackDriver) -> None:
    devon, lewisham, want_ts = _matched_pair(slack)
    stranger = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
    intro = _intro(slack, want_ts)
    slack.click(stranger, "intro_not_fit", _intro_id(intro), message_ts=intro.ts)
    slack.settle()
    refusal = slack.fake.ephemerals(stranger)[-1]
    assert "Only the two people introduced" in refusal.text
    after = slack.fake.message(MARKET, intro.ts)
    assert after is not None and not after.edited
    assert any(b["type"] == "actions" for b in after.blocks)


def test_not_a_fit_is_recorded(slack: SlackDriver) -> None:
    devon, lewisham, want_ts = _matched_pair(slack)
    intro = _intro(slack, want_ts)
    slack.click(devon, "intro_not_fit", _intro_id(intro), message_ts=intro.ts)
    slack.settle()
    assert "Marked not a fit" in str(slack.fake.message(MARKET, intro.ts).blocks)  # type: ignore[union-attr]


def test_i_can_help_makes_a_manual_introduction_in_the_wants_thread(slack: SlackDriver) -> None:
    kent = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
    wilts = slack.user("U0WILTS", "Ann Lee", "ann.lee@wiltshire.gov.uk")
    slack.slash(kent, "/want", "Staff survey on hybrid working")
    slack.settle()
    slack.slash(wilts, "/offer", "Our community area boards model")
    slack.settle()
    want_card = slack.fake.messages(MARKET)[0]
    assert slack.fake.thread(MARKET, want_card.ts) == []
    slack.click(wilts, "card_can_help", "1", message_ts=want_card.ts)
    slack.settle()
    thread = slack.fake.thread(MARKET, want_card.ts)
    assert len(thread) == 1
    text = str(thread[0].blocks)
    assert "<@U0KENT>" in text and "<@U0WILTS>" in text


def test_i_can_help_without_an_offer_opens_the_offer_modal(slack: SlackDriver) -> None:
    kent = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
    wilts = slack.user("U0WILTS", "Ann Lee", "ann.lee@wiltshire.gov.uk")
    slack.slash(kent, "/want", "Staff survey on hybrid working")
    slack.slash(wilts, "/km", "join Wiltshire Council")
    slack.settle()
    want_card = slack.fake.messages(MARKET)[0]
    slack.click(wilts, "card_can_help", "1", message_ts=want_card.ts)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["private_metadata"] == "offer:help:1"
    slack.submit(
        wilts,
        modal,
        {
            "text_block": {
                "text": {
                    "type": "plain_text_input",
                    "value": "Our hybrid working staff survey questions",
                }
            },
        },
    )
    slack.settle()
    thread = slack.fake.thread(MARKET, want_card.ts)
    assert len(thread) == 1 and "<@U0WILTS>" in str(thread[0].blocks)


def test_own_council_cannot_help_itself(slack: SlackDriver) -> None:
    kent = slack.user("U0KENT", "Raj Shah", "raj.shah@kent.gov.uk")
    kent2 = slack.user("U0KENT2", "Mo Khan", "mo.khan@kent.gov.uk")
    slack.slash(kent, "/want", "Staff survey on hybrid working")
    slack.slash(kent2, "/offer", "Hybrid working staff survey")
    slack.settle()
    want_card = slack.fake.messages(MARKET)[0]
    assert slack.fake.thread(MARKET, want_card.ts) == []
    slack.click(kent2, "card_can_help", "1", message_ts=want_card.ts)
    slack.settle()
    assert "your own council" in slack.fake.ephemerals(kent2)[-1].text


def test_fulfilling_a_want_asks_what_it_saved(slack: SlackDriver) -> None:
    devon, lewisham, want_ts = _matched_pair(slack)
    slack.home_opened(lewisham)
    slack.settle()
    home = slack.fake.home_view(lewisham)
    assert home is not None
    validate_view(home)
    slack.click(lewisham, "post_fulfilled", "2", view=home)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == "outcome_modal"
    card = slack.fake.message(MARKET, want_ts)
    assert card is not None and "fulfilled" in str(card.blocks)
    resp = slack.submit(
        lewisham, modal, {"days_block": {"days": {"type": "number_input", "value": "-3"}}}
    )
    assert "between 0 and 5,000" in resp.body
    resp = slack.submit(
        lewisham,
        modal,
        {
            "days_block": {"days": {"type": "number_input", "value": "120"}},
            "note_block": {"note": {"type": "plain_text_input", "value": "Saved six months"}},
        },
    )
    assert resp.status == 200
    slack.settle()
    from storage.models import Outcome

    with slack.services.session_factory() as session:
        outcome = session.query(Outcome).one()
        assert outcome.days_saved == 120 and outcome.note == "Saved six months"


def test_someone_else_cannot_fulfil_your_want(slack: SlackDriver) -> None:
    devon, lewisham, want_ts = _matched_pair(slack)
    slack.click(devon, "post_fulfilled", "2", message_ts=want_ts)
    slack.settle()
    assert "Only the person who posted it" in slack.fake.ephemerals(devon)[-1].text
    assert "fulfilled" not in str(slack.fake.message(MARKET, want_ts).blocks)  # type: ignore[union-attr]


def test_app_home_shows_posts_and_introductions(slack: SlackDriver) -> None:
    devon, lewisham, want_ts = _matched_pair(slack)
    slack.home_opened(devon)
    slack.settle()
    home = slack.fake.home_view(devon)
    assert home is not None
    validate_view(home)
    text = str(home["blocks"])
    assert "Offer #1" in text and "Your open posts (1)" in text
    assert "Your introductions (1)" in text and "London Borough of Lewisham" in text


def test_app_home_for_someone_who_has_not_joined(slack: SlackDriver) -> None:
    new = slack.user("U0NEW", "New Person", None)
    slack.home_opened(new)
    slack.settle()
    home = slack.fake.home_view(new)
    assert home is not None and "haven't joined yet" in str(home["blocks"])


def test_km_help_mine_search_close_and_unknown(slack: SlackDriver) -> None:
    devon, lewisham, _ = _matched_pair(slack)
    slack.slash(devon, "/km", "help")
    slack.settle()
    assert "/want" in slack.fake.ephemerals(devon)[-1].text
    slack.slash(devon, "/km", "frobnicate")
    slack.settle()
    assert "I don't know `/km frobnicate`" in slack.fake.ephemerals(devon)[-1].text
    slack.slash(devon, "/km", "mine")
    slack.settle()
    mine = slack.fake.ephemerals(devon)[-1].text
    assert "Offer #1" in mine and "London Borough of Lewisham" in mine
    slack.slash(devon, "/km", "search asset register")
    slack.settle()
    found = slack.fake.ephemerals(devon)[-1].text
    assert "Want #2" in found
    slack.slash(devon, "/km", "close 2")
    slack.settle()
    assert "You have no post #2" in slack.fake.ephemerals(devon)[-1].text
    slack.slash(devon, "/km", "close 1")
    slack.settle()
    assert "Closed *Offer #1* as withdrawn" in slack.fake.ephemerals(devon)[-1].text
    slack.slash(devon, "/km", "close")
    slack.settle()
    assert "Which post?" in slack.fake.ephemerals(devon)[-1].text


def test_km_join_resolves_what_people_type(slack: SlackDriver) -> None:
    user = slack.user("U0X", "Pat Jones", "pat@gmail.com")
    slack.slash(user, "/km", "join Notts County Council")
    slack.settle()
    assert "Nottinghamshire County Council" in slack.fake.ephemerals(user)[-1].text
    slack.slash(user, "/km", "join Kingston")
    slack.settle()
    assert "more than one council" in slack.fake.ephemerals(user)[-1].text


def test_want_help_shows_usage(slack: SlackDriver) -> None:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    slack.slash(devon, "/want", "help")
    slack.settle()
    assert "/want <what your council needs>" in slack.fake.ephemerals(devon)[-1].text
    assert slack.fake.messages(MARKET) == []
