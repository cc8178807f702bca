"""The introduction of a want's owner to an offer's owner, posted in the want's thread."""

from __future__ import annotations

from typing import Any

from bot.kernel.text import escape
from bot.slack import ids
from bot.slack.kit import (
    Block,
    button,
    context,
    quote,
    section,
)
from bot.slack.views import IntroductionView, PostView


def _contact(post: PostView) -> str:
    bits = [post.who, escape(post.council)]
    if post.author_email:
        bits.append(escape(post.author_email))
    return " · ".join(bits)


def introduction(intro: IntroductionView) -> dict[str, Any]:
    """The introduction of a want's owner to an offer's owner, posted in the want's thread."""
    w, o = intro.want, intro.offer
    lead = (
        f"{w.who} ({escape(w.council)}), meet {o.who} ({escape(o.council)}): "
        f"{'a facilitator or member thinks' if intro.manual else 'I think'} this offer could help "
        f"with this want."
    )
    blocks: list[Block] = [
        section(lead),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{w.label} · {escape(w.council)}*\n{quote(w.text)}"},
                {"type": "mrkdwn", "text": f"*{o.label} · {escape(o.council)}*\n{quote(o.text)}"},
            ],
        },
    ]
    why = ", ".join(escape(r) for r in intro.reasons[:8])
    ctx = [f"Why: {why}" if why else "", f"Match score {intro.score}/100"]
    blocks.append(context(*[c for c in ctx if c]))
    blocks.append(context("Contacts: " + _contact(w), "and " + _contact(o)))
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
    else:
        by = f" by <@{intro.answered_by}>" if intro.answered_by else ""
        state = (
            "Marked useful — they're talking" if intro.status == "confirmed" else "Marked not a fit"
        )
        blocks.append(context(f"{state}{by}."))
    fallback = f"Introduction: {w.label} ({w.council}) and {o.label} ({o.council})"
    return {"text": escape(fallback), "blocks": blocks}


def help_done(want: str, offer: str, *, held: bool, where: str) -> str:
    """The reply to "I can help" / "I'm interested" (``where``: the thread it happens in)."""
    if held:
        return (
            f"Noted: one of you is away, so I'll introduce {want} and {offer} in {where} as soon "
            "as they're back."
        )
    return f"Done: I've introduced {want} and {offer} in {where}."
