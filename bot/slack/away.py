"""The messages about being away: `/km away`, `/km back`, App Home's away line and its modal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.slack import ids
from bot.slack.kit import Block, button, context, counted, date_text, plain_text, section


def away_set(until: datetime) -> str:
    """The reply to `/km away until …`."""
    return (
        f"You're away until *{date_text(until)}*. Until then I'll hold new introductions to "
        "you and pause your expiry reminders and follow-ups; your posts are still matched. "
        "Back early? Type `/km back`, or press “I'm back” on my Home tab."
    )


def back(made: int | None, dropped: int = 0) -> str:
    """The reply to `/km back`: how many held introductions were made (and dropped)."""
    if made is None:
        return "You weren't away, so there was nothing to resume."
    if not made and not dropped:
        return "Welcome back. Nothing was held while you were away."
    if not made:
        were = "was" if dropped == 1 else "were"
        return (
            f"Welcome back. The {counted(dropped, 'introduction')} I held {were} dropped: "
            "a post closed while you were away."
        )
    where = "the card's thread" if made == 1 else "the cards' threads"
    reply = (
        f"Welcome back. I've made the {counted(made, 'introduction')} I held while you were away: "
        f"look in {where}."
    )
    if dropped:
        others = "1 other was" if dropped == 1 else f"{dropped} others were"
        reply += f" {others} dropped, because a post closed meanwhile."
    return reply


def away_status(until: datetime | None) -> str:
    """`/km away` on its own: whether the member is away, and how to say so."""
    if until is not None:
        return (
            f"You're away until *{date_text(until)}*. Back early? Type `/km back`, or press "
            "“I'm back” on my Home tab."
        )
    return (
        "Going away? `/km away until 5 January` (or `next Monday`, or DD/MM/YYYY) holds new "
        "introductions, expiry reminders and follow-ups until then. Back early? `/km back`."
    )


def home_away_block(until: datetime | None) -> Block:
    """App Home's away line: "Away until…" or, while away, "I'm back"."""
    if until is not None:
        line = section(
            f"You're away until *{date_text(until)}*: new introductions, expiry reminders and "
            "follow-ups wait until then."
        )
        return {**line, "accessory": button("I'm back", ids.ACT_BACK, "back")}
    line = section("Going away? I'll hold introductions until you're back.")
    return {**line, "accessory": button("Away until…", ids.ACT_AWAY_OPEN, "away")}


def away_modal() -> dict[str, Any]:
    """The modal behind App Home's "Away until…": the day you'll be back."""
    return {
        "type": "modal",
        "callback_id": ids.VIEW_AWAY,
        "title": plain_text("Away", 24),
        "submit": plain_text("Save", 24),
        "close": plain_text("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": ids.BLK_AWAY_DATE,
                "label": plain_text("Away until"),
                "hint": plain_text("For example 5 January, next Monday or DD/MM/YYYY"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.ACT_AWAY_DATE,
                    "max_length": 40,
                },
            },
            context(
                "New introductions to you, expiry reminders and follow-ups wait until then. "
                "Your posts are still matched."
            ),
        ],
    }
