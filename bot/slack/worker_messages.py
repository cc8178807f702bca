"""Block Kit builders for the worker's messages: nudges, expiry reminders and the digest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.kernel.text import escape, truncate
from bot.slack import ids
from bot.slack.blocks import (
    FALLBACK_LIMIT,
    SECTION_LIMIT,
    Block,
    PostView,
    area_name,
    date_text,
    quote,
)

# Block helpers shared with bot.slack.blocks, so every message looks and truncates alike.
from bot.slack.blocks import _button as button
from bot.slack.blocks import _context as context
from bot.slack.blocks import _section as section

# Slack allows 50 blocks in a message; the nudge and the digest stay well inside it.
MAX_WANTS_IN_NUDGE = 5
MAX_POSTS_IN_DIGEST = 10


def _post_line(post: PostView, limit: int = 160) -> str:
    return f"• *{post.label}* · {escape(post.council)}: {escape(truncate(post.text, limit))}"


def nudge(
    area: str,
    prompt: str | None,
    wants: Sequence[PostView],
    *,
    more_wants: int = 0,
) -> dict[str, Any]:
    """A community's weekly nudge: a prompt to talk about, then the wants nobody has met yet."""
    area_label = area_name(area) or area
    blocks: list[Block] = []
    if prompt:
        blocks.append(
            section(
                f"*This week's question for the {escape(area_label)} community*\n{quote(prompt)}"
            )
        )
        blocks.append(
            context("Reply in a thread: a sentence about what your council has tried is plenty.")
        )
    else:
        blocks.append(
            section(
                f"*This week in the {escape(area_label)} community*\nWhat has your council learnt "
                f"lately that others could use? Reply in a thread."
            )
        )
    shown = list(wants[:MAX_WANTS_IN_NUDGE])
    more = more_wants + len(wants) - len(shown)
    if shown:
        blocks.append({"type": "divider"})
        blocks.append(
            section(
                f"*Can anyone help these councils?* Open wants in {escape(area_label)} with no "
                f"confirmed match yet:"
            )
        )
        for want in shown:
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": truncate(
                            f"*{want.label}* · *{escape(want.council)}* needs:\n"
                            f"{quote(want.text, 600)}",
                            SECTION_LIMIT,
                        ),
                    },
                    "accessory": button("I can help", ids.ACT_NUDGE_HELP, str(want.id)),
                }
            )
        if more > 0:
            blocks.append(
                context(
                    f"…and {more} more. Find them with `/km search` or in the marketplace channel."
                )
            )
    else:
        blocks.append(
            context(
                f"Every open want in {escape(area_label)} has a confirmed match. Got a need of your "
                f"own? Post it with `/want`."
            )
        )
    fallback = f"This week's question for the {area_label} community"
    if prompt:
        fallback += f": {truncate(prompt, 200)}"
    if shown:
        fallback += f" ({len(shown) + max(more, 0)} open wants need help)"
    return {"text": truncate(escape(fallback), FALLBACK_LIMIT), "blocks": blocks}


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
