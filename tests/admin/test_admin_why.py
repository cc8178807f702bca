"""Scenario: a facilitator asks why a want and an offer were, or were not, introduced, in Slack
(/km-admin why); tests/cli covers ``kmbot matches --explain``."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from admin_kit import admin
from slackkit import SlackDriver
from test_admin_slack import admin_slack, members  # noqa: F401  (the fixture)


def test_why_explains_an_introduction_and_a_pair_that_was_not_introduced(
    admin_slack: SlackDriver,  # noqa: F811
) -> None:
    slack = admin_slack
    devon, lewisham = members(slack)
    # Introduced at 23:30 UTC: 00:30 on 17 June by UK clocks (BST), the date a facilitator reads.
    with time_machine.travel(datetime(2027, 6, 16, 23, 30, tzinfo=UTC), tick=True):
        slack.slash(devon, "/offer", "Information asset register template with named owners")
        slack.settle()
        slack.slash(lewisham, "/want", "Help building our information asset register (IAR)")
        slack.settle()
    slack.slash(lewisham, "/want", "Ideas for our staff awards ceremony")
    slack.settle()

    made = admin(slack, "why 2 1")
    assert "*Want #2* (London Borough of Lewisham)" in made
    assert "*Offer #1* (Devon County Council)" in made
    assert "They were introduced on 17 Jun 2027 with score" in made
    assert "Why: information asset register" in made
    assert "Introduced: the score clears the threshold" in made

    not_made = admin(slack, "why #1 #3")  # offer first, with hashes: the order does not matter
    assert "*Want #3*" in not_made and "Not introduced" in not_made
    assert "below the introduction threshold" in not_made

    assert "There is no post #99." in admin(slack, "why 2 99")
    assert "both wants" in admin(slack, "why 2 3")
    assert "e.g. 12 34" in admin(slack, "why two")
    assert "`/km-admin why WANT OFFER`" in admin(slack, "why help")
