"""Follow-ups on unanswered introductions: the DM to each party, and the rates facilitators see."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.kernel.text import escape, truncate
from bot.slack import ids
from bot.slack.kit import FALLBACK_LIMIT, Block, button, context, counted, date_text, section
from bot.slack.views import PostView

MAX_IN_ONE_MESSAGE = 10  # each takes two blocks; Slack allows 50 in a message

# Each introduction's blocks in a follow-up DM carry its id, so the DM can be changed in place
# (``answered``) when someone answers it: the question, and its buttons (or what was answered).
_ASK = "follow_up_ask_"
_BUTTONS = "follow_up_buttons_"
_ANSWERED = "follow_up_answered_"
_HINT = "follow_up_hint"


@dataclass(frozen=True)
class FollowUpItem:
    """One introduction a member is asked about: their post, the other person's, and when."""

    intro_id: int
    mine: PostView
    theirs: PostView
    introduced_on: datetime
    asked_before: int = 0  # follow-ups already sent about it


@dataclass(frozen=True)
class FollowUpRates:
    """What became of the introductions that were followed up."""

    followed_up: int = 0  # introductions asked about at least once
    useful: int = 0  # answered "useful" after a follow-up
    not_a_fit: int = 0  # answered "not a fit" after a follow-up
    still_talking: int = 0  # "we're still talking", not yet answered
    no_response: int = 0  # asked twice, never answered

    @property
    def answered(self) -> int:
        """Answered (useful or not a fit) after a follow-up."""
        return self.useful + self.not_a_fit


def _percent(part: int, whole: int) -> str:
    return f" ({round(100 * part / whole)}%)" if whole else ""


def rates_text(rates: FollowUpRates) -> str:
    """One line of follow-up rates, e.g. for the stats and the weekly digest."""
    n = rates.followed_up
    return (
        f"{counted(n, 'introduction')} followed up: "
        f"{rates.answered} answered{_percent(rates.answered, n)} "
        f"({rates.useful} useful, {rates.not_a_fit} not a fit), "
        f"{rates.still_talking} still talking, "
        f"{rates.no_response} no response{_percent(rates.no_response, n)}."
    )


def _ask(item: FollowUpItem) -> str:
    them = f"{item.theirs.who} ({escape(item.theirs.council)})"
    again = " (a last check)" if item.asked_before else ""
    return f"Did you connect with {them}? Did it help?{again}"


def _buttons(intro_id: int) -> Block:
    value = str(intro_id)
    return {
        "type": "actions",
        "block_id": f"{_BUTTONS}{intro_id}",
        "elements": [
            button("Useful — we're talking", ids.ACT_INTRO_USEFUL, value, "primary"),
            button("Not a fit", ids.ACT_INTRO_NOT_FIT, value),
            button("We're still talking", ids.ACT_INTRO_STILL_TALKING, value),
        ],
    }


def follow_up(items: Sequence[FollowUpItem]) -> dict[str, Any]:
    """The one DM a member gets about their unanswered introductions (one or several)."""
    items = list(items)[:MAX_IN_ONE_MESSAGE]
    blocks: list[Block] = []
    if len(items) > 1:
        blocks.append(
            section(
                f"{len(items)} of your introductions haven't been answered yet. "
                "A quick answer on each helps the network learn what works."
            )
        )
    for item in items:
        ask = section(
            f"{_ask(item)}\n"
            f"I introduced your *{item.mine.label}* "
            f"({escape(truncate(item.mine.text, 150))}) to their *{item.theirs.label}* "
            f"({escape(truncate(item.theirs.text, 150))}) on "
            f"{date_text(item.introduced_on)}."
        )
        blocks.append({**ask, "block_id": f"{_ASK}{item.intro_id}"})
        blocks.append(_buttons(item.intro_id))
    hint = context(
        "“We're still talking” is fine too: I'll ask again in a week and do nothing else."
    )
    blocks.append({**hint, "block_id": _HINT})
    if len(items) == 1:
        theirs = items[0].theirs
        name = theirs.author_name or theirs.council
        fallback = escape(f"Did you connect with {name} ({theirs.council})? Did it help?")
    else:
        fallback = f"{len(items)} of your introductions haven't been answered yet."
    return {"text": truncate(fallback, FALLBACK_LIMIT), "blocks": blocks}


def still_talking(ask_again_on: datetime) -> str:
    """The reply to "We're still talking"."""
    return f"Good to hear — I'll check in again on {date_text(ask_again_on)}."


# ---------------------------------------------------------------- a follow-up DM, answered


def _blocks(payload: dict[str, Any] | None) -> list[Block]:
    blocks = (payload or {}).get("blocks")
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []


def asks_about(payload: dict[str, Any] | None, intro_id: int) -> bool:
    """Whether a follow-up DM (as we last sent it) still has buttons for this introduction."""
    return any(b.get("block_id") == f"{_BUTTONS}{intro_id}" for b in _blocks(payload))


def mentions(payload: dict[str, Any] | None, intro_id: int) -> bool:
    """Whether a follow-up DM (as we last sent it) still shows this introduction's question."""
    return any(b.get("block_id") == f"{_ASK}{intro_id}" for b in _blocks(payload))


def answer_note(
    status: str,
    *,
    recipient: str,
    answered_by: str | None,
    ask_again_on: datetime | None = None,
) -> str:
    """What a follow-up DM says in place of its buttons once the introduction is answered.

    ``status`` is the introduction's ("confirmed", "declined"), or "still_talking";
    ``recipient`` is the Slack id of the DM's reader and ``answered_by`` of who answered.
    """
    if status == "still_talking":
        again = f" on {date_text(ask_again_on)}" if ask_again_on else " in a week"
        return f"You said you're still talking: I'll check in again{again}."
    useful = status == "confirmed"
    if answered_by == recipient:
        return (
            "You marked this useful — thank you."
            if useful
            else "You marked this not a fit — thanks for letting me know."
        )
    who = f"<@{answered_by}>" if answered_by else "The other person"
    return f"{who} marked this {'useful' if useful else 'not a fit'}."


def _without_hint_if_done(blocks: list[Block]) -> list[Block]:
    if any(b.get("type") == "actions" for b in blocks):
        return blocks
    # Nothing left to press: the "still talking" hint has nothing to say.
    return [b for b in blocks if b.get("block_id") != _HINT]


def answered(payload: dict[str, Any] | None, intro_id: int, note: str) -> dict[str, Any] | None:
    """The follow-up DM with this introduction's buttons replaced by ``note``; None if the DM has
    no buttons for it (answered already, or our copy of it was cleared)."""
    if not asks_about(payload, intro_id):
        return None
    assert payload is not None
    done = {**context(note), "block_id": f"{_ANSWERED}{intro_id}"}
    blocks = [done if b.get("block_id") == f"{_BUTTONS}{intro_id}" else b for b in _blocks(payload)]
    return {**payload, "blocks": _without_hint_if_done(blocks)}


def erased(payload: dict[str, Any] | None, intro_id: int) -> dict[str, Any] | None:
    """The follow-up DM with nothing left of this introduction (whose other person asked to be
    forgotten: their name, mention and post text) but a line saying so; None if it shows none."""
    if not mentions(payload, intro_id):
        return None
    assert payload is not None
    note = (
        "The other person in this introduction has left the marketplace and asked for their "
        "details to be erased, so there's nothing to answer."
    )
    gone = {f"{_BUTTONS}{intro_id}", f"{_ANSWERED}{intro_id}"}
    blocks: list[Block] = []
    for block in _blocks(payload):
        if block.get("block_id") == f"{_ASK}{intro_id}":
            blocks.append({**context(note), "block_id": f"{_ANSWERED}{intro_id}"})
        elif block.get("block_id") not in gone:
            blocks.append(block)
    # The fallback text may name them (a DM about one introduction does).
    text = "An update on your introductions."
    return {**payload, "text": text, "blocks": _without_hint_if_done(blocks)}


def digest_rates(rates: FollowUpRates) -> Block:
    """The weekly digest's line about the week's follow-ups."""
    return context("Follow-ups this week: " + rates_text(rates))
