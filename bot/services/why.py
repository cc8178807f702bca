"""Why a want and an offer were, or were not, introduced: ``kmbot matches --explain`` and
``/km-admin why``. The answer is worked out by the same rule the bot introduces by."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput, NotFound
from bot.kernel.text import escape as _escape
from bot.kernel.text import truncate
from bot.kernel.vocabulary import PostKind, PostStatus
from bot.live_index import LiveMatchIndex
from bot.slack.kit import date_text
from storage.models import Introduction, Post

USAGE = "Name a want and an offer by their post numbers, e.g. 12 34."


def parse_pair(text: str) -> tuple[int, int]:
    """Two post numbers ("12 34", "#12 #34", "12, 34") from what a facilitator typed."""
    words = text.replace(",", " ").replace("#", " ").split()
    if len(words) != 2 or not all(w.isascii() and w.isdigit() for w in words):
        raise InvalidInput(USAGE)
    return int(words[0]), int(words[1])


def explain_introduction(
    reading: Callable[[], Session],
    matcher: LiveMatchIndex,
    first: int,
    second: int,
    *,
    for_slack: bool = True,
) -> str:
    """A facilitator's answer for two post numbers, in either order: the posts, their score
    and shared terms, and whether the rule introduces them, and if not, which part of it
    decided. Slack mrkdwn with people's text escaped, or plain text (``for_slack=False``)."""
    escape = _escape if for_slack else _plain
    with reading() as session:
        posts = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_([first, second])))}
        for number in (first, second):
            if number not in posts:
                raise NotFound(f"There is no post #{number}.")
        a, b = posts[first], posts[second]
        if a.kind == b.kind:
            raise InvalidInput(
                f"Posts #{first} and #{second} are both {a.kind}s: kmbot introduces a want "
                "to an offer. " + USAGE
            )
        want, offer = (a, b) if a.kind == PostKind.WANT else (b, a)
        lines = [_line("Want", want, for_slack), _line("Offer", offer, for_slack)]
        made = session.scalar(
            select(Introduction).where(
                Introduction.want_id == want.id, Introduction.offer_id == offer.id
            )
        )
        if made is not None:
            how = "by a facilitator" if made.manual else f"with score {made.score}"
            reasons = f" Why: {escape(', '.join(made.reasons))}." if made.reasons else ""
            if made.held_at is not None:
                lines.append(
                    f"They were matched on {date_text(made.created_at)} {how}, and the "
                    f"introduction waits until the one who is away is back.{reasons}"
                )
            else:
                lines.append(
                    f"They were introduced on {date_text(made.created_at)} {how}.{reasons}"
                )
        closed = [p for p in (want, offer) if p.status != PostStatus.OPEN]
        if closed:
            for post in closed:
                lines.append(f"Post #{post.id} is {post.status}, so kmbot no longer matches it.")
            return "\n".join(lines)
        matcher.refresh(session)
    explanation = matcher.explain(want.id, offer.id)
    if explanation is None:
        lines.append("One of these posts has only just changed: please ask again in a moment.")
    else:
        lines.append(escape(explanation.summary))
    return "\n".join(lines)


def _line(label: str, post: Post, for_slack: bool) -> str:
    council = post.council.name if post.council is not None else "an unknown council"
    if not for_slack:
        return f"{label} #{post.id} ({council}): {post.text}"
    return f"*{label} #{post.id}* ({_escape(council)}): {_escape(truncate(post.text, 200))}"


def _plain(text: str) -> str:
    return text
