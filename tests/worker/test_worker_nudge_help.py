"""The nudge's "I can help" button behaves like the card's."""

from __future__ import annotations

from datetime import timedelta

from slackkit import SlackDriver, validate_view
from sqlalchemy import select, update
from workerkit import IM_CHANNEL, MARKET, text_of

from bot.services.communities import add_community
from bot.services.nudges import next_slot, run_due_nudges
from bot.slack import ids
from storage.models import CommunityOfPractice, Post


def _nudge_with_a_want(slack: SlackDriver) -> tuple[str, str, int]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    slack.slash(lewisham, "/want", "Guidance on running a records amnesty week")
    slack.settle()
    slack.fake.add_channel(IM_CHANNEL, "im-cop")
    now = slack.services.clock()
    with slack.services.session_factory.begin() as session:
        want_id = session.scalars(select(Post.id)).one()
        session.execute(update(Post).values(area="IM"))
        community = add_community(
            session,
            channel_id=IM_CHANNEL,
            name="im-cop",
            area="IM",
            weekday=1,
            time_of_day="10:00",
            now=now - timedelta(days=8),
        )
        slot = next_slot(community, now)
    outcomes = run_due_nudges(
        slack.services.session_factory, settings=slack.settings, now=slot + timedelta(seconds=5)
    )
    assert [o.status for o in outcomes] == ["sent"]
    slack.settle()
    return devon, lewisham, want_id


def test_i_can_help_on_a_nudge_introduces_in_the_wants_thread(slack: SlackDriver) -> None:
    devon, lewisham, want_id = _nudge_with_a_want(slack)
    slack.slash(devon, "/offer", "Our customer insight dashboard in Power BI")
    slack.settle()
    nudge = slack.fake.messages(IM_CHANNEL)[0]
    assert "records amnesty week" in text_of(nudge)

    slack.click(devon, ids.ACT_NUDGE_HELP, str(want_id), channel=IM_CHANNEL, message_ts=nudge.ts)
    slack.settle()
    want_card = slack.fake.messages(MARKET)[0]
    thread = slack.fake.thread(MARKET, want_card.ts)
    assert len(thread) == 1
    intro = text_of(thread[0])
    assert "<@U0DEVON>" in intro and "<@U0LEWIS>" in intro
    assert any("I've introduced" in e.text for e in slack.fake.ephemerals(devon))


def test_i_can_help_without_an_offer_asks_for_one(slack: SlackDriver) -> None:
    devon, _lewisham, want_id = _nudge_with_a_want(slack)
    slack.slash(devon, "/km", "join Devon County Council")
    slack.settle()
    nudge = slack.fake.messages(IM_CHANNEL)[0]
    slack.click(devon, ids.ACT_NUDGE_HELP, str(want_id), channel=IM_CHANNEL, message_ts=nudge.ts)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["private_metadata"] == f"offer:help:{want_id}"
    with slack.services.session_factory() as session:
        assert session.scalars(select(CommunityOfPractice)).one().prompt_cursor > 0
