"""Scenario: /want and /offer through the real Bolt app against the fake Slack."""

from __future__ import annotations

from slackkit import SlackDriver, validate_blocks, validate_view

MARKET = "C0MARKET"


def _join(slack: SlackDriver) -> tuple[str, str]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    return devon, lewisham


def test_offer_then_matching_want_is_introduced_in_the_wants_thread(slack: SlackDriver) -> None:
    devon, lewisham = _join(slack)
    resp = slack.slash(
        devon, "/offer", "Our information asset register (IAR) template and guidance"
    )
    assert resp.status == 200
    slack.settle()
    resp = slack.slash(lewisham, "/want", "Help setting up an IAR - information asset register")
    assert resp.status == 200
    slack.settle()

    cards = slack.fake.messages(MARKET)
    assert len(cards) == 2
    for card in cards:
        validate_blocks(card.blocks)
    want_card = cards[1]
    assert "Want #2" in want_card.blocks[0]["text"]["text"]
    assert "London Borough of Lewisham" in want_card.blocks[0]["text"]["text"]

    thread = slack.fake.thread(MARKET, want_card.ts)
    assert len(thread) == 1
    intro = thread[0]
    validate_blocks(intro.blocks)
    body = str(intro.blocks)
    assert "<@U0DEVON>" in body and "<@U0LEWIS>" in body
    assert "Devon County Council" in body and "London Borough of Lewisham" in body
    assert "jo.bloggs@devon.gov.uk" in body and "sam.patel@lewisham.gov.uk" in body
    assert "information asset register" in body.lower()

    replies = [e for e in slack.fake.ephemerals(lewisham) if e.source == "response_url"]
    assert replies, "the poster gets an ephemeral confirmation"
    assert "Want #2" in replies[-1].text
    validate_blocks(replies[-1].blocks)


def test_user_text_is_escaped_so_nobody_is_pinged(slack: SlackDriver) -> None:
    devon, _ = _join(slack)
    slack.slash(devon, "/offer", "<!channel> records retention schedule & <@U0LEWIS> <script>")
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    text = card.blocks[0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&amp;" in text and "<@U0LEWIS>" not in text and "&lt;script&gt;" in text


def test_slash_command_text_with_the_word_payload_works(slack: SlackDriver) -> None:
    devon, _ = _join(slack)
    resp = slack.slash(devon, "/want", "Guidance on payload sizes for our open data API payload")
    assert resp.status == 200
    slack.settle()
    cards = slack.fake.messages(MARKET)
    assert len(cards) == 1 and "payload sizes" in cards[0].blocks[0]["text"]["text"]


def test_sixth_open_want_is_refused_with_the_open_ones_and_close_buttons(
    slack: SlackDriver,
) -> None:
    devon, _ = _join(slack)
    for n in range(5):
        slack.slash(devon, "/want", f"Want number {n} about topic{n} knowledge")
        slack.settle()
    slack.slash(devon, "/want", "A sixth want about something else")
    slack.settle()
    assert len(slack.fake.messages(MARKET)) == 5
    reply = slack.fake.ephemerals(devon)[-1]
    assert "5 open wants" in reply.text
    validate_blocks(reply.blocks)
    buttons = [b["accessory"] for b in reply.blocks if b.get("accessory")]
    assert [b["value"] for b in buttons] == ["1", "2", "3", "4", "5"]

    slack.click(devon, "post_close", "3")
    slack.settle()
    slack.slash(devon, "/want", "A sixth want about something else")
    slack.settle()
    cards = slack.fake.messages(MARKET)
    assert len(cards) == 6
    closed = slack.fake.message(MARKET, cards[2].ts)
    assert closed is not None and "withdrawn" in str(closed.blocks)


def test_want_without_text_opens_the_modal_and_submission_posts(slack: SlackDriver) -> None:
    devon, _ = _join(slack)
    slack.slash(devon, "/want")
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == "post_modal"
    resp = slack.submit(
        devon,
        modal,
        {
            "text_block": {"text": {"type": "plain_text_input", "value": "Channel shift strategy"}},
            "area_block": {"area": {"type": "static_select", "selected_option": {"value": "CF"}}},
            "purpose_block": {
                "purpose": {"type": "static_select", "selected_option": {"value": "transformation"}}
            },
            "link_block": {"link": {"type": "url_text_input", "value": "https://example.org/cs"}},
        },
    )
    assert resp.status == 200
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    assert "Channel shift strategy" in str(card.blocks)
    assert "Customer Focus" in str(card.blocks)
    dm = slack.fake.dms(devon)
    assert dm and "Want #1" in dm[-1].text


def test_modal_rejects_a_link_that_is_not_http(slack: SlackDriver) -> None:
    devon, _ = _join(slack)
    slack.slash(devon, "/offer")
    slack.settle()
    resp = slack.submit(
        devon,
        slack.last_modal(),
        {
            "text_block": {"text": {"type": "plain_text_input", "value": "Our toolkit"}},
            "link_block": {"link": {"type": "url_text_input", "value": "javascript:alert(1)"}},
        },
    )
    assert resp.status == 200
    assert '"response_action": "errors"' in resp.body or '"response_action":"errors"' in resp.body
    assert "http" in resp.body
    slack.settle()
    assert slack.fake.messages(MARKET) == []


def test_unknown_email_domain_asks_for_the_council_and_keeps_the_post(slack: SlackDriver) -> None:
    user = slack.user("U0GMAIL", "Alex Doe", "alex@gmail.com")
    slack.slash(user, "/want", "Records retention schedule template")
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == "join_modal"
    assert slack.fake.messages(MARKET) == []

    opts = slack.options(user, "council_pick", "Wilts")
    assert "Wiltshire Council" in opts.body

    resp = slack.submit(
        user,
        modal,
        {
            "council_block": {
                "council_pick": {
                    "type": "external_select",
                    "selected_option": {"value": "ref:Wiltshire Council"},
                }
            },
            "role_block": {
                "role": {"type": "static_select", "selected_option": {"value": "change_agent"}}
            },
        },
    )
    assert resp.status == 200
    slack.settle()
    cards = slack.fake.messages(MARKET)
    assert len(cards) == 1 and "Wiltshire Council" in str(cards[0].blocks)


def test_join_modal_needs_a_council(slack: SlackDriver) -> None:
    user = slack.user("U0GMAIL", "Alex Doe", None)
    slack.slash(user, "/offer", "Lessons learnt toolkit")
    slack.settle()
    resp = slack.submit(user, slack.last_modal(), {})
    assert "Choose your council" in resp.body
