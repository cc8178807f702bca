"""The one rule for links members attach to posts, wherever the post comes from (a form, a
command or a workshop's CSV file)."""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.kernel.errors import InvalidInput

MAX_LINK_LENGTH = 500
# Slack's mrkdwn gives these meaning inside a link (``<url|label>``); a web address never needs
# them unencoded, and whitespace would end the address early.
_FORBIDDEN = set("<>|") | {" ", "\t", "\n", "\r"}


def validate_link(link: str) -> str:
    """An http(s) link of sensible length, or InvalidInput naming the ``link`` field."""
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise InvalidInput("Links must start with http:// or https://.", field="link")
    if len(link) > MAX_LINK_LENGTH:
        raise InvalidInput(
            f"That link is too long ({MAX_LINK_LENGTH} characters at most).", field="link"
        )
    if any(ch in _FORBIDDEN for ch in link):
        raise InvalidInput("That link contains characters a web address cannot have.", field="link")
    return link
