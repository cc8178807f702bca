"""Errors whose message is fit to show whoever caused them.

``KmbotError`` and its kinds are domain errors, shown to the member; ``CommandError`` is a
mistake on the ``kmbot`` command line, shown without a traceback.
"""

from __future__ import annotations

from typing import Any


class CommandError(Exception):
    """A command-line mistake; the message is shown without a traceback."""


class KmbotError(Exception):
    """A problem the user can fix; ``str(error)`` is a friendly, specific message."""


class InvalidInput(KmbotError):
    """What was typed cannot be used as it is; ``field`` names the part at fault, if one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(KmbotError):
    """The thing asked for does not exist (or is not visible to this member)."""


class NotAllowed(KmbotError):
    """This member may not do this."""


class NeedsCouncil(KmbotError):
    """The member has not joined yet: we need to know their council first."""

    def __init__(self, message: str = "Please tell me which council you work for first.") -> None:
        super().__init__(message)


class PostLimitReached(KmbotError):
    """The member already has the maximum number of open posts of this kind."""

    def __init__(self, kind: str, limit: int, open_posts: list[Any]) -> None:
        self.kind = kind
        self.limit = limit
        self.open_posts = open_posts
        super().__init__(
            f"You already have {limit} open {kind}s, the most you can have at once. "
            f"Close one (fulfilled or withdrawn) and try again."
        )
