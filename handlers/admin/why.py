"""/km-admin why WANT OFFER: why a pair was, or was not, introduced."""

from __future__ import annotations

from handlers.admin.request import Request


def why(request: Request, rest: str) -> None:
    """why: the score, the shared terms and the rule's verdict for a want and an offer."""
    request.say(request.container.admin.why(rest))
