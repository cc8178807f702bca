"""A post as the engine sees it: ``PostForMatching`` in, ``_Entry`` while indexed, ``Match`` out.

Storage hands the engine ``PostForMatching`` values; services decide what to do with the
``Match`` values it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.matching.words import _Token

KINDS = ("want", "offer")


@dataclass(frozen=True, slots=True)
class PostForMatching:
    """An open Want or Offer as the matching engine sees it."""

    id: int
    kind: str  # "want" or "offer"
    council_id: int
    text: str
    area: str | None = None  # knowledge area code: "IM", "CF", "CO", "OL" or None


@dataclass(frozen=True, slots=True)
class Match:
    """A Want and an Offer that should meet, with a 0..100 score and the shared terms why."""

    want_id: int
    offer_id: int
    score: int
    reasons: tuple[str, ...]


@dataclass(slots=True)
class _Entry:
    """An indexed post: its terms (computed once, at indexing) and its cached size."""

    post: PostForMatching
    # Every term, words first; the strings are shared with the index's postings.
    terms: tuple[str, ...]
    words: int  # how many of ``terms`` are single words (they measure the post's size)
    partial: frozenset[str]
    # Typo corrections made when the post was indexed (token position, corrected token), so
    # its display forms can be rebuilt exactly when a match shows them.
    fixes: tuple[tuple[int, _Token], ...] = ()
    # The post's size (sum of its words' weights) and the index generation it was computed at.
    total: float = 0.0
    generation: int = -1
