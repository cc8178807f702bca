"""Messages about members: the welcome on joining, and the council picker's options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kernel.text import escape
from bot.slack.kit import notice, plain_text


def welcome(council: str) -> dict[str, Any]:
    """The direct message a member gets on joining from the form."""
    return notice(
        f"Welcome to the Wants & Offers Marketplace. You're down as "
        f"*{escape(council)}*; `/km join` changes it."
    )


def council_options(found: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Options for the council picker from (name, value) pairs."""
    return [{"text": plain_text(name, 75), "value": value[:150]} for name, value in found]
