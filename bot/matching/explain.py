"""Why a want and an offer would, or would not, be introduced: the facilitator's question.

``explain_pair`` scores the pair with the index's weights, names the terms they share (the
"Why: …" of an introduction) and applies the same rule as ``MatchIndex.all_matches`` and the live
path (``scoring.pair_verdict``), saying in words which part of it decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.matching.index import MatchIndex, _better, _partner_order
from bot.matching.scoring import (
    DEFAULT_INTRO_THRESHOLD,
    DEFAULT_MAX_INTROS,
    DEFAULT_RUNNER_UP_GAP,
    VERDICTS,
    _score,
    pair_verdict,
)


@dataclass(frozen=True)
class Explanation:
    """A pair's score, the terms it shares, and whether (and why not) it is introduced."""

    want_id: int
    offer_id: int
    score: int
    reasons: tuple[str, ...]
    verdict: str | None  # None: introduced; else a key of ``scoring.VERDICTS``
    summary: str
    want_best: tuple[int, int] | None = None  # (score, offer id) of the want's best other match
    offer_best: tuple[int, int] | None = None  # (score, want id) of the offer's best other match

    @property
    def introduced(self) -> bool:
        return self.verdict is None


def explain_pair(
    index: MatchIndex,
    want_id: int,
    offer_id: int,
    *,
    threshold: int = DEFAULT_INTRO_THRESHOLD,
    max_per_post: int = DEFAULT_MAX_INTROS,
    runner_up_gap: int | None = DEFAULT_RUNNER_UP_GAP,
) -> Explanation:
    """Explain an indexed want and an indexed offer (``KeyError`` if either is not indexed)."""
    want, offer = index._entries[want_id], index._entries[offer_id]
    kinds = (want.post.kind, offer.post.kind)
    if kinds != ("want", "offer"):
        kind = want.post.kind if want.post.kind == offer.post.kind else "mixed"
        summary = VERDICTS["same_kind"].format(kind=kind)
        return Explanation(want_id, offer_id, 0, (), "same_kind", f"Not introduced: {summary}.")
    score, reasons = _score(want, offer, index._weight, index._total, index._display)
    why = f"Why: {', '.join(reasons)}" if reasons else "They share no weighty terms"
    if want.post.council_id == offer.post.council_id:
        summary = f"Score {score}. {why}. Not introduced: {VERDICTS['same_council']}."
        return Explanation(want_id, offer_id, score, reasons, "same_council", summary)
    this_for_want, this_for_offer = (score, offer_id), (score, want_id)
    want_partners = _with(index.partners(want_id), this_for_want)
    offer_partners = _with(index.partners(offer_id), this_for_offer)
    want_better = _better(want_partners, this_for_want)
    offer_better = _better(offer_partners, this_for_offer)
    verdict = pair_verdict(
        score,
        want_better,
        offer_better,
        threshold=threshold,
        max_per_post=max_per_post,
        runner_up_gap=runner_up_gap,
    )
    want_best = next((p for p in want_partners if p[1] != offer_id), None)
    offer_best = next((p for p in offer_partners if p[1] != want_id), None)
    detail = VERDICTS[verdict].format(
        score=score,
        threshold=threshold,
        gap=runner_up_gap,
        max_per_post=max_per_post,
        want_best=want_best[0] if want_best else 0,
        best_for_want=want_best[1] if want_best else "-",
        offer_best=offer_best[0] if offer_best else 0,
        best_for_offer=offer_best[1] if offer_best else "-",
    )
    outcome = "Introduced" if verdict is None else "Not introduced"  # by the rule, as things stand
    summary = f"Score {score} (threshold {threshold}). {why}. {outcome}: {detail}."
    return Explanation(want_id, offer_id, score, reasons, verdict, summary, want_best, offer_best)


def _with(partners: list[tuple[int, int]], this: tuple[int, int]) -> list[tuple[int, int]]:
    """A post's partners with this pair in its place (scored now), best first."""
    return sorted([p for p in partners if p[1] != this[1]] + [this], key=_partner_order)
