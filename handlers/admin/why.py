"""/km-admin why WANT OFFER: why a pair was, or was not, introduced."""

from __future__ import annotations

from bot.services.why import explain_introduction, parse_pair
from handlers.admin.request import Request


def why(request: Request, rest: str) -> None:
    """why: the score, the shared terms and the rule's verdict for a want and an offer."""
    first, second = parse_pair(rest)
    container = request.container
    request.say(explain_introduction(container.read_session, container.live_index, first, second))
