"""The App Home tab: a member's posts and introductions."""

from __future__ import annotations

from typing import Any

from bot.kernel.text import escape, truncate
from bot.slack import ids
from bot.slack.away import home_away_block
from bot.slack.browse import BrowsePage, browse_blocks
from bot.slack.kit import (
    HEADER_LIMIT,
    Block,
    button,
    context,
    date_text,
    plain_text,
    section,
)
from bot.slack.views import MemberOverview


def home(overview: MemberOverview, browse: BrowsePage, note: str | None = None) -> dict[str, Any]:
    """The App Home tab: a member's posts and introductions, and a page of the marketplace's
    open posts (``browse``); ``note`` is mrkdwn we wrote, shown at the top."""
    name, council, posts = overview.name, overview.council, overview.posts
    introductions, member_post_ids = overview.introductions, overview.post_ids
    blocks: list[Block] = [
        {"type": "header", "text": plain_text("Wants & Offers Marketplace", HEADER_LIMIT)},
    ]
    if council:
        blocks.append(context(f"{escape(name or 'You')} · {escape(council)}"))
    else:
        blocks.append(
            section(
                "You haven't joined yet. Post a want or an offer (`/want`, `/offer`) or type "
                "`/km join` and I'll ask which council you work for."
            )
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                button("Post a want", ids.ACT_OPEN_POST_MODAL, "want", "primary"),
                button("Post an offer", ids.ACT_OPEN_POST_MODAL, "offer"),
            ],
        }
    )
    if council:  # away and back (bot.slack.welcome)
        blocks.append(home_away_block(overview.away_until))
    blocks.append({"type": "divider"})
    open_posts = [p for p in posts if p.status == "open"]
    blocks.append({"type": "header", "text": plain_text(f"Your open posts ({len(open_posts)})")})
    if not open_posts:
        blocks.append(context("Nothing open. What does your council need, or what can it share?"))
    for post in open_posts[:20]:
        blocks.append(
            section(
                f"*{post.label}* {escape(truncate(post.text, 300))}\n"
                f"_Open until {date_text(post.expires_at)}_"
            )
        )
        elements = [
            button("Edit", ids.ACT_EDIT_POST, str(post.id)),
            button("Withdraw", ids.ACT_WITHDRAW, str(post.id)),
        ]
        if post.kind == "want":
            elements.insert(0, button("Fulfilled", ids.ACT_FULFILLED, str(post.id), "primary"))
        blocks.append({"type": "actions", "elements": elements})
    blocks.append({"type": "divider"})
    blocks.append(
        {"type": "header", "text": plain_text(f"Your introductions ({len(introductions)})")}
    )
    if not introductions:
        blocks.append(context("No introductions yet."))
    for intro in introductions[:20]:
        other = intro.offer if intro.want.id in member_post_ids else intro.want
        state = {
            "proposed": "waiting for an answer",
            "confirmed": "useful — talking",
            "declined": "not a fit",
        }.get(intro.status, intro.status)
        blocks.append(
            section(
                f"*{intro.want.label}* ↔ *{intro.offer.label}* "
                f"with {escape(other.council)}: {state}\n"
                f"{escape(truncate(other.text, 200))}"
            )
        )
        if intro.status == "proposed":
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        button(
                            "Useful — we're talking", ids.ACT_INTRO_USEFUL, str(intro.id), "primary"
                        ),
                        button("Not a fit", ids.ACT_INTRO_NOT_FIT, str(intro.id)),
                    ],
                }
            )
    # ---- browsing, closed posts and a note (the filter travels in private_metadata)
    closed = [p for p in posts if p.status != "open"][:5]
    if closed:
        states = ", ".join(f"{p.label} ({p.status})" for p in closed)
        blocks.append(context(f"Your recent closed posts: {states}"))
    if note:
        blocks.insert(2, section(note))
    blocks.append({"type": "divider"})
    # Browsing comes last: Slack allows 100 blocks, and a member's own things come first.
    blocks.extend(browse_blocks(browse)[: max(0, 100 - len(blocks))])
    view: dict[str, Any] = {"type": "home", "private_metadata": browse.filter.encode()}
    # Slack allows 100 blocks in a Home view.
    view["blocks"] = blocks[:100]
    return view
