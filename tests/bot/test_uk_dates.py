"""Dates and times are shown as people in the UK read them: GMT in winter, BST in summer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from slackkit import SlackDriver, validate_blocks, validate_view

from bot.kernel.clock import uk_time
from bot.slack import admin, posts, reminders
from bot.slack.browse import BrowseFilter, BrowsePage
from bot.slack.home import home
from bot.slack.kit import date_text, time_text
from bot.slack.views import AuditView, MemberOverview, PostView

MARKET = "C0MARKET"

# 23:30 UTC: in summer that is 00:30 BST the next day; in winter it is 23:30 GMT, the same day.
SUMMER_LATE = datetime(2027, 7, 14, 23, 30, tzinfo=UTC)
WINTER_LATE = datetime(2027, 1, 14, 23, 30, tzinfo=UTC)


def _post(expires_at: datetime) -> PostView:
    return PostView(
        id=3,
        kind="want",
        text="Records retention schedule",
        council="Devon County Council",
        author_slack_id="U0DEVON",
        expires_at=expires_at,
    )


def _everything_showing(post: PostView) -> dict[str, str]:
    """Every message that shows a post's closing date, as text."""
    card = posts.card(post)
    reminder = reminders.expiry_reminder(post)
    kept = reminders.kept_open(post)
    overview = MemberOverview("Jo", "Devon County Council", (post,), (), frozenset({post.id}))
    tab = home(overview, BrowsePage(BrowseFilter(), (), 0, ()))
    validate_blocks(card["blocks"])
    validate_blocks(reminder["blocks"])
    validate_view(tab)
    return {
        "card": str(card["blocks"]),
        "reminder": str(reminder["blocks"]) + reminder["text"],
        "kept open": str(kept["blocks"]) + kept["text"],
        "App Home": str(tab["blocks"]),
    }


def test_a_post_closing_late_on_a_summer_evening_closes_the_next_day_in_london() -> None:
    for where, text in _everything_showing(_post(SUMMER_LATE)).items():
        assert "15 Jul 2027" in text, where
        assert "14 Jul 2027" not in text, where


def test_a_post_closing_late_on_a_winter_evening_closes_the_same_day() -> None:
    for where, text in _everything_showing(_post(WINTER_LATE)).items():
        assert "14 Jan 2027" in text, where
        assert "15 Jan 2027" not in text, where


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        (datetime(2027, 7, 14, 12, 0, tzinfo=UTC), "14 Jul 2027 13:00"),  # BST
        (datetime(2027, 1, 14, 12, 0, tzinfo=UTC), "14 Jan 2027 12:00"),  # GMT
        # The night the clocks go forward: 00:59 GMT, then 02:00 BST a minute later.
        (datetime(2027, 3, 28, 0, 59, tzinfo=UTC), "28 Mar 2027 00:59"),
        (datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "28 Mar 2027 02:00"),
        # The night they go back: 01:30 happens twice.
        (datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "31 Oct 2027 01:30"),
        (datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "31 Oct 2027 01:30"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "31 Dec 2026 23:59"),
        (datetime(2028, 2, 29, 23, 30, tzinfo=UTC), "29 Feb 2028 23:30"),
    ],
)
def test_times_are_shown_on_a_uk_clock(when: datetime, shown: str) -> None:
    assert time_text(when) == shown
    assert date_text(when) == shown.rsplit(" ", 1)[0]


def test_a_stored_time_without_a_zone_is_taken_as_utc() -> None:
    # SQLite hands back naive datetimes to code that skips the model's type: they are UTC.
    assert time_text(datetime(2027, 7, 14, 12, 0)) == "14 Jul 2027 13:00"
    assert uk_time(datetime(2027, 7, 14, 23, 30)).date().isoformat() == "2027-07-15"
    assert date_text(None) == "" and time_text(None) == ""


def test_the_audit_log_shows_uk_time() -> None:
    summer = admin.audit_line(
        AuditView(datetime(2027, 7, 14, 12, 0, tzinfo=UTC), "U0FACIL", "post.remove", "#3", "")
    )
    assert "14 Jul 2027 13:00" in summer and "12:00" not in summer and "UTC" not in summer
    winter = admin.audit_line(
        AuditView(datetime(2027, 1, 14, 12, 0, tzinfo=UTC), "U0FACIL", "post.remove", "#3", "")
    )
    assert "14 Jan 2027 12:00" in winter


def test_the_digest_is_headed_with_the_monday_it_begins_in_london() -> None:
    # The digest's slot, Monday 09:00 BST, is 08:00 UTC; a Monday 00:30 BST slot would be
    # Sunday in UTC. Either way the header names the London Monday.
    for slot in (
        datetime(2027, 6, 14, 8, 0, tzinfo=UTC),
        datetime(2027, 6, 13, 23, 30, tzinfo=UTC),
    ):
        digest = reminders.weekly_digest(slot, [], [])
        validate_blocks(digest["blocks"])
        assert "14 Jun 2027" in str(digest["blocks"])


def test_a_want_posted_late_on_a_spring_evening_shows_its_london_closing_date_everywhere(
    slack: SlackDriver,
) -> None:
    # 23:30 UTC on 15 April is 00:30 BST on the 16th; ninety days on, the post closes at
    # 23:30 UTC on 14 July, which is 00:30 BST on 15 July.
    with time_machine.travel(datetime(2027, 4, 15, 23, 30, tzinfo=UTC), tick=True):
        devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
        slack.slash(devon, "/want", "A records retention schedule for adult social care")
        slack.settle()
        slack.slash(devon, "/km", "mine")
        slack.home_opened(devon)
        slack.settle()
    assert slack.settings.expiry_days == 90
    card = str(slack.fake.messages(MARKET)[0].blocks)
    mine = slack.fake.ephemerals(devon)[-1].text
    tab = slack.fake.home_view(devon)
    assert tab is not None
    for where, text in (("card", card), ("/km mine", mine), ("App Home", str(tab["blocks"]))):
        assert "15 Jul 2027" in text, where
        assert "14 Jul 2027" not in text, where
