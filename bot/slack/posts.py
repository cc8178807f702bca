"""Messages about posts: the marketplace card, the poster's confirmation, the limit, help."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.text import escape, truncate
from bot.kernel.vocabulary import PURPOSES
from bot.slack import ids
from bot.slack.kit import (
    FALLBACK_LIMIT,
    SECTION_LIMIT,
    Block,
    area_name,
    button,
    channel_ref,
    context,
    date_text,
    quote,
    section,
)
from bot.slack.views import IntroductionView, PostView, PublishedView


def _facts(post: PostView) -> list[str]:
    facts = []
    if post.area:
        facts.append(area_name(post.area))
    if post.purpose:
        facts.append(PURPOSES.get(post.purpose, post.purpose))
    return facts


def card(post: PostView) -> dict[str, Any]:
    """The marketplace card announcing a new want or offer."""
    if post.status == "removed":
        # A facilitator removed it: the text is no longer shown to anyone.
        gone = f"*{post.label}* was removed by a facilitator."
        return {"text": gone, "blocks": [section(gone)]}
    verb = "needs" if post.kind == "want" else "can share"
    head = f"*{post.label}* · *{escape(post.council)}* {verb}:"
    blocks: list[Block] = [section(f"{head}\n{quote(post.text, SECTION_LIMIT - 400)}")]
    extra = _facts(post)
    if post.link:
        extra.append(f"<{escape(post.link).replace('|', '%7C')}|Link>")
    ctx = [f"Posted by {post.who}"] + extra
    if post.expires_at:
        ctx.append(f"Open until {date_text(post.expires_at)}")
    blocks.append(context(" · ".join(ctx)))
    if post.status == "open":
        label, action = (
            ("I can help", ids.ACT_CAN_HELP)
            if post.kind == "want"
            else ("I'm interested", ids.ACT_INTERESTED)
        )
        elements = [button(label, action, str(post.id))]
        # Only its author may edit a post; anyone else pressing it is told so, politely.
        elements.append(button("Edit", ids.ACT_EDIT_POST, str(post.id)))
        blocks.append({"type": "actions", "elements": elements})
    else:
        blocks.append(context(f"This {post.kind} is {post.status}."))
    fallback = f"{post.label} from {post.council}: {truncate(post.text, 200)}"
    return {"text": truncate(escape(fallback), FALLBACK_LIMIT), "blocks": blocks}


def partners_named(post: PostView, introduced: Sequence[IntroductionView]) -> str:
    """The posts ``post`` was introduced to, with their councils: "Offer #2 (Devon County
    Council), Offer #5 (…)"."""
    partners = [i.offer if post.kind == "want" else i.want for i in introduced]
    return ", ".join(f"{p.label} ({escape(p.council)})" for p in partners)


def post_confirmation(published: PublishedView, channel: str) -> dict[str, Any]:
    """The ephemeral reply to the poster: the post's number and its best candidates."""
    post, introduced, candidates = published.post, published.introduced, published.candidates
    lines = [f"Thanks — your {post.kind} is posted as *{post.label}* in {channel_ref(channel)}."]
    blocks: list[Block] = [section("\n".join(lines))]
    if introduced:
        names = partners_named(post, introduced)
        blocks.append(section(f"I've introduced you in the card's thread to: {names}."))
    if published.held:
        names = partners_named(post, published.held)
        blocks.append(
            section(
                f"You match {names}, but one of you is away: I'll introduce you in the card's "
                "thread as soon as they're back."
            )
        )
    if candidates:
        rows = [
            f"• *{c.label}* · {escape(c.council)} ({score}/100): {escape(truncate(c.text, 140))}"
            for c, score in candidates
        ]
        blocks.append(section("Possible matches (shown only to you):\n" + "\n".join(rows)))
    if not introduced and not candidates and not published.held:
        blocks.append(
            context(
                "No match yet. I'll introduce you as soon as someone posts a match, and the "
                "communities of practice will see it in their weekly nudge."
            )
        )
    return {"text": f"Your {post.kind} is posted as {post.label}.", "blocks": blocks}


def queued(ahead: int, channel: str) -> dict[str, Any]:
    """The reply when many posts are queued ahead of a member's (a workshop burst)."""
    where = channel_ref(channel)
    text = (
        f"Got it: your post is safely queued, with {ahead:,} ahead of it. It will appear in "
        f"{where} shortly, and I'll confirm here when it does. No need to post it again."
    )
    return {"text": text, "blocks": [section(text)]}


def cap_reached(kind: str, limit: int, open_posts: Sequence[PostView]) -> dict[str, Any]:
    """The reply when a member already has the most open posts of a kind."""
    blocks: list[Block] = [
        section(
            f"You already have {limit} open {kind}s, the most anyone can have at once "
            f"(just like the "
            f"flip chart's top {limit}). Close one to make room:"
        )
    ]
    for post in open_posts[:10]:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{post.label}* {escape(truncate(post.text, 200))}",
                },
                "accessory": button("Close", ids.ACT_CLOSE_POST, str(post.id)),
            }
        )
    return {"text": f"You already have {limit} open {kind}s.", "blocks": blocks}


def help_text(max_open: int) -> str:
    """Usage for /want, /offer and /km."""
    return (
        "*Wants & Offers Marketplace*\n"
        "• `/want <what your council needs>` posts a want; `/want` alone opens a form.\n"
        "• `/offer <what your council can share>` posts an offer; `/offer` alone opens a form.\n"
        "• `/km mine` shows your posts and introductions.\n"
        "• `/km search <words>` finds open posts.\n"
        "• `/km join [council]` sets or changes your council.\n"
        "• `/km close <number>` closes one of your posts.\n"
        "• `/km away until <date>` (`5 January`, `next Monday` or DD/MM/YYYY) holds "
        "introductions, reminders and follow-ups while you're away; `/km back` resumes them.\n"
        "• `/km my-data` sends you everything kmbot stores about you; "
        "`/km forget-me` erases it.\n"
        f"You can have up to {max_open} open wants and {max_open} open offers. I match each new "
        "post against the other side and introduce you in the card's thread."
    )
