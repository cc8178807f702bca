"""The worker's messages about posts: expiry reminders, expiry, "still needed", the digest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.kernel.text import escape, truncate
from bot.slack import ids
from bot.slack.kit import (
    FALLBACK_LIMIT,
    Block,
    button,
    context,
    date_text,
    quote,
    section,
)
from bot.slack.views import PostView

MAX_POSTS_IN_DIGEST = 10


def _post_line(post: PostView, limit: int = 160) -> str:
    return f"• *{post.label}* · {escape(post.council)}: {escape(truncate(post.text, limit))}"


def expiry_reminder(post: PostView) -> dict[str, Any]:
    """The DM to a post's owner a few days before it expires, with buttons to keep or close it."""
    when = date_text(post.expires_at)
    if post.kind == "want":
        ask = "Is it still needed?"
        keep = "Still needed"
    else:
        ask = "Can your council still share it?"
        keep = "Still on offer"
    blocks: list[Block] = [
        section(
            f"Your *{post.label}* closes on *{when}*:\n{quote(post.text, 800)}\n{ask} "
            f"Nothing stale stays in the marketplace, so it will expire unless you keep it open."
        ),
    ]
    elements = [button(keep, ids.ACT_STILL_NEEDED, str(post.id), "primary")]
    if post.kind == "want":
        elements.append(button("Fulfilled", ids.ACT_FULFILLED, str(post.id)))
    elements.append(button("Withdraw", ids.ACT_WITHDRAW, str(post.id)))
    blocks.append({"type": "actions", "elements": elements})
    fallback = f"Your {post.label} closes on {when}. {ask}"
    return {"text": truncate(fallback, FALLBACK_LIMIT), "blocks": blocks}


def expired_notice(post: PostView) -> dict[str, Any]:
    """The DM telling an owner their post has expired, with a button to reopen it."""
    keep = "Still needed — reopen" if post.kind == "want" else "Still on offer — reopen"
    blocks: list[Block] = [
        section(
            f"Your *{post.label}* has expired and is no longer in the marketplace:\n"
            f"{quote(post.text, 800)}"
        ),
        {
            "type": "actions",
            "elements": [
                button(keep, ids.ACT_STILL_NEEDED, str(post.id)),
            ],
        },
    ]
    return {"text": f"Your {post.label} has expired.", "blocks": blocks}


def kept_open(post: PostView) -> dict[str, Any]:
    """The reply after "Still needed": the post's new closing date."""
    return {
        "text": f"Thanks — {post.label} stays open until {date_text(post.expires_at)}.",
        "blocks": [
            section(
                f"Thanks — *{post.label}* stays open until *{date_text(post.expires_at)}*. "
                f"I'll check with you again before then."
            )
        ],
    }


def weekly_digest(
    week_of: datetime,
    new_posts: Sequence[PostView],
    unmatched: Sequence[PostView],
    *,
    more_new: int = 0,
    more_unmatched: int = 0,
) -> dict[str, Any]:
    """The Monday digest in the marketplace channel: what is new, and what still waits for help."""
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "emoji": False,
                "text": f"The marketplace this week ({date_text(week_of)})",
            },
        },
    ]
    if new_posts:
        lines = [_post_line(p) for p in new_posts[:MAX_POSTS_IN_DIGEST]]
        extra = more_new + len(new_posts) - len(lines)
        if extra > 0:
            lines.append(f"…and {extra} more.")
        blocks.append(
            section(f"*New in the last week ({len(new_posts) + more_new})*\n" + "\n".join(lines))
        )
    else:
        blocks.append(
            section(
                "*New in the last week*\nNothing new this week. What does your "
                "council need, or what could it share? `/want` or `/offer`."
            )
        )
    if unmatched:
        lines = [_post_line(p) for p in unmatched[:MAX_POSTS_IN_DIGEST]]
        extra = more_unmatched + len(unmatched) - len(lines)
        if extra > 0:
            lines.append(f"…and {extra} more.")
        blocks.append(
            section(
                f"*Still waiting for a match ({len(unmatched) + more_unmatched})*\n"
                + "\n".join(lines)
            )
        )
        blocks.append(
            context(
                "Can your council help? Use the card's button, or `/km search` "
                "to find a post by its words."
            )
        )
    else:
        blocks.append(context("Every open post has a confirmed match. Well done, everyone."))
    fallback = (
        f"The marketplace this week: {len(new_posts) + more_new} new, "
        f"{len(unmatched) + more_unmatched} waiting for a match."
    )
    return {"text": fallback, "blocks": blocks}
