"""Making user text safe and short enough for Slack."""

from __future__ import annotations

import re
import unicodedata

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` so Slack shows user text instead of acting on it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Undo Slack's escaping of ``&``, ``<`` and ``>`` in what a member typed (slash commands and
    message events carry it; modal values do not). Apply once, where the text comes in."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """Shorten ``text`` to at most ``limit`` characters, at a word boundary where one is near."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - len(ellipsis))]
    space = cut.rfind(" ")
    if space >= limit * 0.7:
        cut = cut[:space]
    # Never leave half an escape sequence such as "&am" behind.
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip() + ellipsis


def clean_post_text(text: str) -> str:
    """Normalise what a member typed: NFC, no control characters, tidy whitespace."""
    # Controls go first: removing one can bring characters together that NFC then composes.
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\r", "").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def visible_length(text: str) -> int:
    """Length a person would count: zero-width and combining characters do not count."""
    return sum(1 for ch in text if unicodedata.category(ch) not in ("Mn", "Cf", "Me"))


def has_visible_text(text: str) -> bool:
    """True when ``text`` holds at least one letter, digit or symbol a person can see."""
    return any(unicodedata.category(ch)[0] in "LNSP" for ch in text)


def is_channel_id(text: str) -> bool:
    """Whether ``text`` is a Slack channel id (``C0123ABCD``, ``G…`` for older private ones),
    rather than a channel's name."""
    return _CHANNEL_ID.fullmatch(text) is not None
