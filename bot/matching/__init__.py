"""The matching engine: which open Wants and Offers should meet.

This package is the pure engine: no database, no Slack, no environment. It imports nothing from
``storage``, ``handlers`` or the rest of ``bot`` except ``bot.kernel``, and nothing but the
standard library and rapidfuzz besides. Storage hands it ``PostForMatching`` values; services
decide what to do with the ``Match`` values it returns.

How a post becomes terms (``normalise``):

1. Slack markup goes (mentions, link targets, ``*bold*``); Unicode is NFKC-folded.
2. Glossary acronyms are expanded into their canonical phrase, case-aware (``IT`` but not "it").
3. Words are lower-cased, American spellings read as British, lightly stemmed.
4. Glossary phrases and synonyms are read as their canonical wording ("lessons learnt",
   "after action review" -> "lessons learned"); each glossary phrase found is also a term.
5. Stopwords (including the filler council staff write in every post: "looking for", "happy to
   share", "anyone") are dropped; unigrams, bigrams and trigrams of what is left are terms.

How two posts score (``MatchIndex``): terms are weighted by IDF over the index's own posts,
smoothed with a background prior from the Local Government Services List, phrases weigh more
than words. The score blends the weighted cosine of the shared terms with rapidfuzz's
``token_set_ratio`` of the cleaned texts, so wording that the terms miss still counts a little.
Unknown words of five letters or more that are a typo away from a known word count as that word.

Candidates come from an inverted index, never a scan: very common terms are skipped and only the
best few hundred candidates by cheap overlap are scored in full.

The modules, each importing only those above it:

- ``words``: steps 1 and 3, and the stopwords (markup, words, British spelling, stemming).
- ``glossary``: the ``Glossary`` rows and their CSV file.
- ``terms``: the glossary compiled into lookup tables; steps 2, 4 and 5 (``normalise``).
- ``posts``: ``PostForMatching`` in, ``Match`` out, and an indexed post.
- ``weights``: how much a term counts (IDF, the background prior, boosts).
- ``scoring``: the score of a pair and its reasons; the default thresholds.
- ``index``: ``MatchIndex`` (candidates, typo correction, all_matches, each post's remembered
  partners for judging a pair from both sides) and ``score_pair``.
- ``explain``: ``explain_pair``, why a pair would or would not be introduced.

Import from the package, not the modules: names with a leading underscore are private to it.
"""

from bot.matching.explain import Explanation, explain_pair
from bot.matching.glossary import Glossary, GlossaryError, GlossaryRow
from bot.matching.index import MatchIndex, score_pair
from bot.matching.posts import KINDS, Match, PostForMatching
from bot.matching.scoring import (
    DEFAULT_CANDIDATE_THRESHOLD,
    DEFAULT_INTRO_THRESHOLD,
    DEFAULT_MAX_INTROS,
    DEFAULT_RUNNER_UP_GAP,
)
from bot.matching.terms import NormalisedText, normalise

__all__ = [
    "DEFAULT_CANDIDATE_THRESHOLD",
    "DEFAULT_INTRO_THRESHOLD",
    "DEFAULT_MAX_INTROS",
    "DEFAULT_RUNNER_UP_GAP",
    "KINDS",
    "Explanation",
    "Glossary",
    "GlossaryError",
    "GlossaryRow",
    "Match",
    "MatchIndex",
    "NormalisedText",
    "PostForMatching",
    "explain_pair",
    "normalise",
    "score_pair",
]
