"""Messages about editing a post and reporting a card to the facilitators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.text import escape
from bot.slack.kit import Block, context, quote, section
from bot.slack.posts import partners_named
from bot.slack.views import IntroductionView, PostView


def edit_saved(
    post: PostView, changed: bool, introduced: Sequence[IntroductionView]
) -> dict[str, Any]:
    """The direct message to a member who saved their post."""
    if not changed:
        text = f"Nothing changed in *{post.label}*: it is as it was."
        return {"text": text, "blocks": [section(text)]}
    blocks: list[Block] = [
        section(f"Saved your changes to *{post.label}*; its card now shows them.")
    ]
    if introduced:
        names = partners_named(post, introduced)
        blocks.append(section(f"It now matches more, so I've introduced you to: {names}."))
    else:
        blocks.append(context("No new matches. I never introduce you to the same post twice."))
    return {"text": f"Saved your changes to {post.label}.", "blocks": blocks}


def report_for_facilitators(post: PostView, reporter: str, note: str) -> dict[str, Any]:
    """The direct message each facilitator gets when a member reports a card."""
    text = (
        f"<@{reporter}> reported *{post.label}* from {escape(post.council)} "
        f"(posted by {post.who}, now {post.status}):\n{quote(post.text, 600)}\n"
        f"*Their note:* {escape(note)}"
    )
    return {
        "text": f"A member reported {post.label} to the facilitators.",
        "blocks": [
            section(text),
            context(
                f"To take it down: `/km-admin remove {post.id} <reason>` (its author is told "
                "the reason). Every report: `/km-admin reports`."
            ),
        ],
    }


def report_received(post: PostView) -> dict[str, Any]:
    """The reporter's thanks."""
    text = (
        f"Thanks: I've passed your report on *{post.label}* to the network's facilitators. "
        "They'll take it from here."
    )
    return {"text": text, "blocks": [section(text)]}
