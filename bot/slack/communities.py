"""A community of practice's weekly nudge: a prompt, then the wants nobody has met yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.text import escape, truncate
from bot.slack import ids
from bot.slack.kit import (
    FALLBACK_LIMIT,
    SECTION_LIMIT,
    Block,
    area_name,
    button,
    context,
    quote,
    section,
)
from bot.slack.views import PostView

# Slack allows 50 blocks in a message; the nudge stays well inside it.
MAX_WANTS_IN_NUDGE = 5


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
                f"Every open want in {escape(area_label)} has a confirmed match. "
                f"Got a need of your own? Post it with `/want`."
            )
        )
    fallback = f"This week's question for the {area_label} community"
    if prompt:
        fallback += f": {truncate(prompt, 200)}"
    if shown:
        fallback += f" ({len(shown) + max(more, 0)} open wants need help)"
    return {"text": truncate(escape(fallback), FALLBACK_LIMIT), "blocks": blocks}
