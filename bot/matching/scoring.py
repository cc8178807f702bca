"""How two indexed posts score 0..100, and the shared terms shown as the reasons why.

The score blends the weighted cosine of the shared terms with rapidfuzz's ``token_set_ratio``
of the cleaned texts, so wording that the terms miss still counts a little. Term weights and
post sizes come from the index (``MatchIndex``), which passes them in: this module holds the
rules and the thresholds, and keeps no state.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from rapidfuzz import fuzz

from bot.matching.posts import _Entry

# Tuned on bench/eval and bench/dev, never on bench/heldout (run bench/eval_matching.py).
DEFAULT_INTRO_THRESHOLD: int = 36
DEFAULT_CANDIDATE_THRESHOLD: int = 22
DEFAULT_MAX_INTROS: int = 3
# A match scoring this far below the best match of either of its posts is not introduced: the
# facilitator's instinct to make the strong introductions, not every one over the line (weaker
# ones stay candidates for the poster). Chosen on the tuning sets (bench/eval and bench/dev),
# never on the held-out set: 25 -> 15 took the development set's F1 from 0.684 to 0.706.
DEFAULT_RUNNER_UP_GAP: int = 15


def pair_verdict(
    score: int,
    want_better: list[int],
    offer_better: list[int],
    *,
    threshold: int,
    max_per_post: int,
    runner_up_gap: int | None,
) -> str | None:
    """Whether a want and an offer are introduced: ``None`` if they are, else why not.

    The rule is judged per pair and depends only on the open posts, never on the order they
    arrived in: the pair scores at least ``threshold``; it is not a runner-up far behind the best
    match of either post (``runner_up_gap``); and neither post has ``max_per_post`` partners that
    rank above it. ``want_better`` and ``offer_better`` are the scores of each post's other
    partners that rank above this pair (a higher score, or the same score and an older post).
    The reason codes are those of ``VERDICTS``.
    """
    if score < threshold:
        return "below_threshold"
    if runner_up_gap is not None:
        if want_better and score < max(want_better) - runner_up_gap:
            return "runner_up_for_want"
        if offer_better and score < max(offer_better) - runner_up_gap:
            return "runner_up_for_offer"
    if len(want_better) >= max_per_post:
        return "want_has_enough"
    if len(offer_better) >= max_per_post:
        return "offer_has_enough"
    return None


# What each verdict of ``pair_verdict`` means, for a facilitator asking why.
VERDICTS = {
    None: (
        "the score clears the threshold, it is no weak afterthought for either post, and "
        "neither post has {max_per_post} better matches"
    ),
    "same_council": (
        "they are from the same council, and kmbot never introduces a council to itself"
    ),
    "same_kind": "both are {kind}s: kmbot introduces a want to an offer",
    "below_threshold": "the score {score} is below the introduction threshold {threshold}",
    "runner_up_for_want": (
        "the want's best match (post {best_for_want}, score {want_best}) is more than "
        "{gap} points better, so this one is a weak afterthought"
    ),
    "runner_up_for_offer": (
        "the offer's best match (post {best_for_offer}, score {offer_best}) is more than "
        "{gap} points better, so this one is a weak afterthought"
    ),
    "want_has_enough": "the want already has {max_per_post} better matches",
    "offer_has_enough": "the offer already has {max_per_post} better matches",
}


# Scoring knobs, tuned on the evaluation set (the term weighting knobs are in ``weights``).
_TERM_SHARE = 0.85  # the rest of the score is rapidfuzz's token_set_ratio
_SIZE_DAMPING = 0.15  # 0: raw shared weight; 0.5: cosine. Cosine lost wordy posts' matches.
_SATURATION = 6.0
_AREA_BONUS = 4  # same knowledge area: a little context, never a match on its own
_MAX_REASONS = 4
_PARTIAL_FACTOR = 0.5  # a word shared only as part of a glossary phrase

# What the index lends the scoring: a term's weight, a post's size (the summed weight of its
# words) and a post's terms in human-readable form.
_Weight = Callable[[str], float]
_Total = Callable[[_Entry], float]
_Display = Callable[[_Entry], dict[str, str]]


def _score_value(
    a: _Entry, a_terms: frozenset[str], a_cleaned: str, b: _Entry, weight: _Weight, total: _Total
) -> tuple[int, list[str]]:
    """Score two entries 0..100, with the terms they share (``a_terms``, ``a_cleaned``: a's)."""
    shared = [t for t in b.terms if t in a_terms]
    if not shared:
        return 0, shared
    # Shared weight counts in full; the posts' sizes only a little (a wordy post should not
    # lose a match that a terse one would get). Sizes count words, not phrases, so the
    # n-grams of a long post do not inflate it.
    total_a = total(a)
    total_b = total(b)
    partial = a.partial | b.partial
    if partial:
        shared_weight = sum(weight(t) * (_PARTIAL_FACTOR if t in partial else 1.0) for t in shared)
    else:
        shared_weight = sum(weight(t) for t in shared)
    if shared_weight <= 0 or total_a <= 0 or total_b <= 0:
        return 0, []
    evidence = shared_weight / (total_a * total_b) ** _SIZE_DAMPING
    # Saturate: after a point, more shared terms add little.
    term_score = 1.0 - math.exp(-evidence / _SATURATION)
    fuzzy = fuzz.token_set_ratio(a_cleaned, _cleaned(b)) / 100.0
    score = 100.0 * (_TERM_SHARE * term_score + (1 - _TERM_SHARE) * fuzzy)
    if a.post.area and a.post.area == b.post.area:
        score += _AREA_BONUS
    return max(0, min(100, round(score))), shared


def _score(
    a: _Entry, b: _Entry, weight: _Weight, total: _Total, display: _Display
) -> tuple[int, tuple[str, ...]]:
    """Score two entries 0..100 and name the shared terms, most telling first."""
    score, shared = _score_value(a, frozenset(a.terms), _cleaned(a), b, weight, total)
    if not shared:
        return 0, ()
    want, offer = (a, b) if a.post.kind == "want" else (b, a)
    return score, _reasons(frozenset(shared), want, offer, weight, display)


def _reasons(
    shared: frozenset[str], want: _Entry, offer: _Entry, weight: _Weight, display: _Display
) -> tuple[str, ...]:
    """Shared terms for people: glossary phrases, then longer phrases, then weightier words."""

    def rank(term: str) -> tuple[int, int, float, str]:
        glossary = 1 if term.startswith("g:") else 0
        length = len(_term_words(term))
        return (-glossary, -length, -weight(term), term)

    chosen: list[str] = []
    covered: list[set[str]] = []
    displays: list[dict[str, str]] = []
    for term in sorted(shared, key=rank):
        words = set(_term_words(term))
        if any(words <= c for c in covered):
            continue
        if weight(term) <= 0:
            continue
        covered.append(words)
        if not displays:
            displays = [display(want), display(offer)]
        chosen.append(displays[0].get(term) or displays[1].get(term) or term)
        if len(chosen) >= _MAX_REASONS:
            break
    return tuple(chosen)


def _cleaned(entry: _Entry) -> str:
    """The post's cleaned text for rapidfuzz: its units (its words, less those only inside a
    glossary phrase). ``token_set_ratio`` compares sets of tokens, so their order is immaterial
    and the index need not keep the string."""
    words = entry.terms[: entry.words]
    partial = entry.partial
    return " ".join(t for t in words if t not in partial) if partial else " ".join(words)


def _term_words(term: str) -> list[str]:
    """The stems a term is made of, for telling whether one reason already covers another."""
    words = []
    for unit in term.split(" "):
        words.extend(unit[2:].split("_") if unit.startswith("g:") else [unit])
    return words
