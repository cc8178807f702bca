"""The worker's Block Kit builders: valid for Slack, escaped, within limits."""

from __future__ import annotations

from datetime import UTC, datetime

from slackkit import validate_blocks

from bot.slack import communities as nudge_messages
from bot.slack import ids
from bot.slack import reminders as reminder_messages
from bot.slack.views import PostView

WHEN = datetime(2027, 4, 12, 9, 0, tzinfo=UTC)


def _post(n: int, kind: str = "want", text: str = "A data quality framework") -> PostView:
    return PostView(
        id=n,
        kind=kind,
        text=text,
        council="Devon County Council",
        author_slack_id="U0JO",
        area="IM",
        expires_at=WHEN,
    )


def test_a_nudge_with_wants_has_a_help_button_for_each_shown_want() -> None:
    wants = [_post(n) for n in range(1, 9)]
    msg = nudge_messages.nudge("IM", "Who owns your <b>data</b> & why?", wants, more_wants=3)
    validate_blocks(msg["blocks"])
    body = str(msg["blocks"])
    assert "Information Management" in body
    assert "&lt;b&gt;data&lt;/b&gt; &amp; why?" in body and "<b>" not in body
    buttons = [b["accessory"] for b in msg["blocks"] if "accessory" in b]
    assert [b["value"] for b in buttons] == ["1", "2", "3", "4", "5"]
    assert {b["action_id"] for b in buttons} == {ids.ACT_NUDGE_HELP}
    assert "…and 6 more" in body
    assert msg["text"] and "<b>" not in msg["text"]


def test_a_nudge_without_wants_or_prompt_is_still_worth_reading() -> None:
    msg = nudge_messages.nudge("OL", None, [])
    validate_blocks(msg["blocks"])
    body = str(msg["blocks"])
    assert "Organisational Learning" in body and "confirmed match" in body


def test_a_very_long_want_is_cut_short_not_rejected_by_slack() -> None:
    msg = nudge_messages.nudge("CF", "x" * 700, [_post(1, text="word " * 900)])
    validate_blocks(msg["blocks"])
    assert all(len(b["text"]["text"]) <= 3000 for b in msg["blocks"] if b.get("text"))


def test_reminders_for_wants_and_offers() -> None:
    want = reminder_messages.expiry_reminder(_post(3, text="Help with <!here> & more"))
    offer = reminder_messages.expiry_reminder(_post(4, kind="offer"))
    for msg in (want, offer):
        validate_blocks(msg["blocks"])
    assert "12 Apr 2027" in want["text"]
    assert "&lt;!here&gt; &amp; more" in str(want["blocks"])
    labels = [[e["text"]["text"] for e in m["blocks"][-1]["elements"]] for m in (want, offer)]
    assert labels == [["Still needed", "Fulfilled", "Withdraw"], ["Still on offer", "Withdraw"]]


def test_expired_and_kept_open_messages() -> None:
    for msg in (reminder_messages.expired_notice(_post(5)), reminder_messages.kept_open(_post(5))):
        validate_blocks(msg["blocks"])
    assert "12 Apr 2027" in reminder_messages.kept_open(_post(5))["text"]


def test_the_digest_full_and_empty() -> None:
    full = reminder_messages.weekly_digest(
        WHEN, [_post(n, text="<x> & y") for n in range(1, 15)], [_post(20)], more_unmatched=2
    )
    validate_blocks(full["blocks"])
    body = str(full["blocks"])
    assert "New in the last week (14)" in body and "…and 4 more." in body
    assert "Still waiting for a match (3)" in body and "&lt;x&gt; &amp; y" in body
    empty = reminder_messages.weekly_digest(WHEN, [], [])
    validate_blocks(empty["blocks"])
    assert "Nothing new this week" in str(empty["blocks"])
