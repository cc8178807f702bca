"""The welcome DM for newcomers to the marketplace channel."""

from __future__ import annotations

from typing import Any

from bot.slack.kit import Block, context, section


def welcome(max_open: int, *, joined: bool = False) -> dict[str, Any]:
    """The one welcome DM someone gets when they first join the marketplace channel."""
    joining = (
        "You've already told me your council, so you're ready to go."
        if joined
        else "*Joining:* the first time you post, I'll ask which council you work for (I "
        "suggest one from your email address where I can). You can also choose it now with "
        "`/km join`, or `/km join <council name>`. Your posts are your council's."
    )
    blocks: list[Block] = [
        section(
            "*Welcome to the Wants & Offers Marketplace.* Councils post what they need and what "
            "they can share, and I introduce the people who can help each other."
        ),
        section(
            "• `/want <what your council needs>` posts a want.\n"
            "• `/offer <what your council can share>` posts an offer.\n"
            f"• Up to {max_open} open wants and {max_open} open offers each, as on the "
            "workshop flip chart.\n"
            "• `/km help` lists everything else: your posts, search, going away and more."
        ),
        section(joining),
        context("When I find a match, I introduce you both in the want's thread."),
    ]
    return {"text": "Welcome to the Wants & Offers Marketplace.", "blocks": blocks}
