"""How much a term counts: IDF over the index's own posts, smoothed with a background prior.

The prior is the word frequencies of the Local Government Services List (LGSL), read from
``bot/data/background_df.json`` (see bench/make_background_df.py). Phrases weigh more than words,
glossary phrases more again, and generic words ("template", "policy") less. This module holds the
rules; ``MatchIndex`` counts the posts and keeps the caches.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from bot.matching.words import _stem, _stem_word, _word_set

# Term weighting knobs, tuned on the evaluation set.
_PHRASE_BOOST = {1: 1.0, 2: 1.6, 3: 2.0}
_GLOSSARY_PHRASE_BOOST = 2.0
_GLOSSARY_CONCEPT_BOOST = 1.0
# Words that name the kind of thing shared (a template, a policy) rather than what it is about:
# facilitators match on the subject, so these count for less.
_GENERIC_FACTOR = 0.4
_GENERIC = frozenset(
    _stem(w)
    for w in _word_set(
        """
    template templates guidance guide policy policies toolkit strategy plan plans process
    processes framework method methods programme project projects team teams staff officer
    officers resident residents service services system systems report reports form forms
    document documents model tool tools data information material materials
    """
    )
)

# IDF prior: the background corpus counts as this many pseudo-posts. Large enough that a young
# store weighs "service" as common and "gazetteer" as rare; small enough that a store of a few
# thousand posts is weighted mostly by its own vocabulary.
_PRIOR_POSTS = 150.0


# --- background prior ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Background:
    documents: int
    probability: dict[str, float]  # stem -> share of background documents using it


@lru_cache(maxsize=1)
def _background() -> _Background:
    """The LGSL word frequencies, stemmed like post text (see bench/make_background_df.py)."""
    try:
        raw = resources.files("bot").joinpath("data/background_df.json").read_text("utf-8")
    except FileNotFoundError:
        return _Background(1, {})
    payload = json.loads(raw)
    documents = max(int(payload["documents"]), 1)
    df: dict[str, int] = {}
    for word, count in payload["df"].items():
        stem = _stem_word(word)
        df[stem] = max(df.get(stem, 0), int(count))
    return _Background(documents, {s: c / documents for s, c in df.items()})


# --- term weights ----------------------------------------------------------------------------


def _term_constants(term: str, concepts: frozenset[str]) -> tuple[float, float]:
    """A term's constants: its boost (phrase, glossary, generic) and its smoothing count.

    ``concepts`` are the glossary's one-word canonical terms (``_CompiledGlossary.concepts``).
    """
    background = _background()
    floor = 0.5 / background.documents
    units = term.split(" ")
    prior = min(
        floor if u.startswith("g:") else background.probability.get(u, floor) for u in units
    )
    if len(units) > 1:
        # A phrase is rarer than its rarest word.
        prior = max(prior * 0.1, floor)
    boost = _PHRASE_BOOST.get(len(units), 2.0)
    if len(units) == 1 and term.startswith("g:"):
        boost *= _GLOSSARY_PHRASE_BOOST
    elif len(units) == 1 and term in concepts:
        # A word the glossary names as a concept ("onboarding" means "induction") is
        # known to be the subject of a post, not a passing word.
        boost *= _GLOSSARY_CONCEPT_BOOST
    if all(u in _GENERIC for u in units):
        boost *= _GENERIC_FACTOR
    return (boost, _PRIOR_POSTS * prior + 0.5)


def _idf(posts: int, df: int, smoothing: float) -> float:
    """A term's IDF when ``df`` of ``posts`` indexed posts use it (``smoothing``: its prior)."""
    return max(math.log((posts + _PRIOR_POSTS + 1.0) / (df + smoothing)), 0.0)
