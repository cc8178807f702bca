"""Evaluate the matching engine on the labelled set in bench/eval/ against a plain baseline.

The set (posts.csv, pairs.csv) was labelled as a facilitator would, before any tuning. The engine
runs as the bot does (``MatchIndex.all_matches`` with its default threshold and per-post cap);
the baseline is rapidfuzz's ``token_set_ratio`` over every cross-council Want/Offer pair at its
best threshold, which flatters it. Prints plain text and exits 0.

Usage: python bench/eval_matching.py [--misses]
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from bot.matching import MatchIndex, PostForMatching, score_pair

EVAL_DIR = Path(__file__).resolve().parent / "eval"


def load_posts(directory: Path = EVAL_DIR) -> list[PostForMatching]:
    """The evaluation posts, councils numbered in order of first appearance."""
    councils: dict[str, int] = {}
    posts = []
    with open(directory / "posts.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            council_id = councils.setdefault(row["council"], len(councils) + 1)
            posts.append(PostForMatching(int(row["id"]), row["kind"], council_id, row["text"]))
    return posts


def load_pairs(directory: Path = EVAL_DIR) -> set[tuple[int, int]]:
    """The (want_id, offer_id) pairs a facilitator would introduce."""
    with open(directory / "pairs.csv", encoding="utf-8", newline="") as handle:
        return {(int(r["want_id"]), int(r["offer_id"])) for r in csv.DictReader(handle)}


def _metrics(predicted: set[tuple[int, int]], gold: set[tuple[int, int]]) -> dict[str, float]:
    hits = len(predicted & gold)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted": len(predicted)}


def evaluate(directory: Path = EVAL_DIR) -> dict[str, Any]:
    """Engine and baseline precision, recall and F1 on the evaluation set."""
    posts = load_posts(directory)
    gold = load_pairs(directory)
    index = MatchIndex()
    for post in posts:
        index.add(post)
    matches = index.all_matches()
    predicted = {(m.want_id, m.offer_id) for m in matches}
    engine = _metrics(predicted, gold)

    wants = [p for p in posts if p.kind == "want"]
    offers = [p for p in posts if p.kind == "offer"]
    scored = [
        ((w.id, o.id), fuzz.token_set_ratio(w.text.lower(), o.text.lower()))
        for w in wants
        for o in offers
        if w.council_id != o.council_id
    ]
    best: dict[str, float] | None = None
    best_threshold = 0
    for threshold in range(101):
        chosen = {pair for pair, score in scored if score >= threshold}
        figures = _metrics(chosen, gold)
        if best is None or figures["f1"] > best["f1"]:
            best, best_threshold = figures, threshold
    assert best is not None
    return {
        "engine": engine,
        "baseline": {**best, "threshold": best_threshold},
        "gold": len(gold),
        "matches": matches,
        "false_positives": sorted(predicted - gold),
        "false_negatives": sorted(gold - predicted),
    }


def main(argv: list[str]) -> int:
    """Print the comparison table (and, with --misses, the pairs the engine got wrong)."""
    result = evaluate()
    engine, baseline = result["engine"], result["baseline"]
    print(f"Evaluation set: {result['gold']} labelled pairs")
    print(f"{'':32}{'precision':>10}{'recall':>10}{'F1':>10}{'pairs':>8}")
    print(
        f"{'engine (all_matches, defaults)':32}{engine['precision']:>10.3f}"
        f"{engine['recall']:>10.3f}{engine['f1']:>10.3f}{engine['predicted']:>8}"
    )
    label = f"token_set_ratio >= {baseline['threshold']}"
    print(
        f"{label:32}{baseline['precision']:>10.3f}"
        f"{baseline['recall']:>10.3f}{baseline['f1']:>10.3f}{baseline['predicted']:>8}"
    )
    if "--misses" in argv:
        texts = {p.id: p.text for p in load_posts()}
        by_pair = {(m.want_id, m.offer_id): m for m in result["matches"]}
        print("\nfalse positives:")
        for pair in result["false_positives"]:
            m = by_pair[pair]
            print(f"  {pair} score={m.score} {m.reasons}")
            print(f"    W: {texts[pair[0]]}\n    O: {texts[pair[1]]}")
        print("\nfalse negatives:")
        index = MatchIndex()
        for post in load_posts():
            index.add(post)
        for pair in result["false_negatives"]:
            score, reasons = score_pair(texts[pair[0]], texts[pair[1]], index)
            print(f"  {pair} score={score} {reasons}")
            print(f"    W: {texts[pair[0]]}\n    O: {texts[pair[1]]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
