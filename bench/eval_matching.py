"""Matching quality on labelled sets, by the path members get, beside a plain baseline.

Three labelled sets, each ``posts.csv`` (``id,kind,council,text[,area,purpose]``) and
``pairs.csv`` (the introductions a facilitator would make, labelled before anything was scored):

- ``eval``: the original set; the engine was first tuned on it.
- ``dev``: a blind development set, for tuning.
- ``heldout``: a blind, frozen set that nothing is tuned on (a test checks its checksum).

Two paths:

- **batch**: ``MatchIndex.all_matches`` over every post at once, as ``kmbot matches`` does;
- **live**: every post published one at a time through the real posting service
  (``publish_post`` on a fresh SQLite database, one member per post), in ``--orders`` shuffled
  orders (seeds 0, 1, …), as members posting ``/want`` and ``/offer`` get it. The introductions
  stored are the prediction; the mean and the worst order are reported.

The baseline is rapidfuzz's ``token_set_ratio`` over every cross-council want/offer pair at its
best threshold for that set, which flatters it. Labelled pairs that join a council to itself are
left out of the gold (kmbot never introduces a council to itself) and counted in the output.

Usage: python bench/eval_matching.py [--sets eval,dev,heldout] [--orders 10] [--misses SET]
       [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz  # noqa: E402

from bot.matching import MatchIndex, PostForMatching, explain_pair  # noqa: E402

BENCH = Path(__file__).resolve().parent
EVAL_DIR = BENCH / "eval"
SETS = {"eval": EVAL_DIR, "dev": BENCH / "dev", "heldout": BENCH / "heldout"}
ROLE = {"eval": "tuned on", "dev": "tuned on", "heldout": "held out, never tuned on"}

Pair = tuple[int, int]


@dataclass(frozen=True)
class LabelledPost:
    id: int
    kind: str
    council: str
    text: str
    area: str | None
    purpose: str | None


def load_labelled(directory: Path) -> list[LabelledPost]:
    """A set's posts as written, in file order."""
    with open(directory / "posts.csv", encoding="utf-8", newline="") as handle:
        return [
            LabelledPost(
                int(row["id"]),
                row["kind"],
                row["council"],
                row["text"],
                (row.get("area") or "").strip() or None,
                (row.get("purpose") or "").strip() or None,
            )
            for row in csv.DictReader(handle)
        ]


def load_posts(directory: Path = EVAL_DIR) -> list[PostForMatching]:
    """The set's posts for the engine, councils numbered in order of first appearance."""
    councils: dict[str, int] = {}
    return [
        PostForMatching(
            p.id, p.kind, councils.setdefault(p.council, len(councils) + 1), p.text, p.area
        )
        for p in load_labelled(directory)
    ]


def load_pairs(directory: Path = EVAL_DIR) -> set[Pair]:
    """The (want_id, offer_id) pairs a facilitator would introduce, across councils."""
    council = {p.id: p.council for p in load_labelled(directory)}
    with open(directory / "pairs.csv", encoding="utf-8", newline="") as handle:
        pairs = {(int(r["want_id"]), int(r["offer_id"])) for r in csv.DictReader(handle)}
    return {(w, o) for w, o in pairs if council[w] != council[o]}


def same_council_pairs(directory: Path) -> int:
    """Labelled pairs left out because they join a council to itself."""
    with open(directory / "pairs.csv", encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle)) - len(load_pairs(directory))


def _metrics(predicted: set[Pair], gold: set[Pair]) -> dict[str, float]:
    hits = len(predicted & gold)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted": len(predicted)}


def batch_pairs(posts: list[PostForMatching]) -> set[Pair]:
    """The introductions ``kmbot matches`` would make over the whole set."""
    index = MatchIndex()
    for post in posts:
        index.add(post)
    return {(m.want_id, m.offer_id) for m in index.all_matches()}


def baseline(posts: list[PostForMatching], gold: set[Pair]) -> dict[str, float]:
    """token_set_ratio over every cross-council pair, at its best threshold for this set."""
    wants = [p for p in posts if p.kind == "want"]
    offers = [p for p in posts if p.kind == "offer"]
    scored = [
        ((w.id, o.id), fuzz.token_set_ratio(w.text.lower(), o.text.lower()))
        for w in wants
        for o in offers
        if w.council_id != o.council_id
    ]
    best: dict[str, float] | None = None
    for threshold in range(101):
        figures = _metrics({pair for pair, score in scored if score >= threshold}, gold)
        if best is None or figures["f1"] > best["f1"]:
            best = {**figures, "threshold": threshold}
    assert best is not None
    return best


def evaluate(directory: Path = EVAL_DIR) -> dict[str, Any]:
    """Batch-path and baseline precision, recall and F1 on one labelled set."""
    posts = load_posts(directory)
    gold = load_pairs(directory)
    predicted = batch_pairs(posts)
    return {
        "engine": _metrics(predicted, gold),
        "baseline": baseline(posts, gold),
        "gold": len(gold),
        "false_positives": sorted(predicted - gold),
        "false_negatives": sorted(gold - predicted),
    }


def live_pairs(directory: Path, seed: int) -> set[Pair]:
    """Publish every post of a set one at a time, in a shuffled order, through the real posting
    service on a fresh SQLite database; the introductions it stored, as the set's ids."""
    from bot.container import build_container
    from bot.kernel.settings import Settings
    from bot.kernel.vocabulary import PostKind
    from bot.services.membership import council_for, ensure_reference_councils, join_member
    from bot.services.posting import publish_post
    from storage.models import Introduction

    posts = load_labelled(directory)
    random.Random(seed).shuffle(posts)
    with tempfile.TemporaryDirectory(prefix="kmbot-eval-") as folder:
        url = f"sqlite:///{folder}/eval.db"
        container = build_container(Settings(database_url=url, marketplace_channel="C0EVAL"))
        try:
            stored_as: dict[int, int] = {}
            for number, labelled in enumerate(posts):
                with container.session_factory.begin() as session:
                    ensure_reference_councils(session, container.directory)
                    choice = council_for(session, labelled.council, container.directory)
                    if choice is None:
                        raise SystemExit(f"{directory.name}: unknown council {labelled.council!r}")
                    member = join_member(
                        session,
                        team_id="T0EVAL",
                        user_id=f"U{number:05d}",
                        council=choice.council,
                        name=f"Member {number}",
                    )
                    result = publish_post(
                        session,
                        member,
                        PostKind(labelled.kind),
                        labelled.text,
                        settings=container.settings,
                        matcher=container.live_index,
                        area=labelled.area,
                        purpose=labelled.purpose,
                    )
                    stored_as[result.post.id] = labelled.id
            with container.session_factory() as session:
                rows = session.query(Introduction.want_id, Introduction.offer_id).all()
            return {(stored_as[w], stored_as[o]) for w, o in rows}
        finally:
            container.close()


def evaluate_live(directory: Path, orders: int) -> dict[str, Any]:
    """Live-path figures over ``orders`` shuffled orders: each order's, the mean and the worst."""
    gold = load_pairs(directory)
    runs = [_metrics(live_pairs(directory, seed), gold) for seed in range(orders)]
    worst = min(runs, key=lambda r: r["f1"])
    mean = {key: statistics.fmean(r[key] for r in runs) for key in runs[0]}
    return {"orders": runs, "mean": mean, "worst": worst}


def _row(label: str, figures: dict[str, float]) -> str:
    return (
        f"{label:44}{figures['precision']:>10.3f}{figures['recall']:>8.3f}"
        f"{figures['f1']:>8.3f}{figures['predicted']:>8.0f}"
    )


def _misses(name: str, directory: Path) -> None:
    """The pairs the batch path got wrong on one set, with the engine's explanation."""
    posts = {p.id: p for p in load_posts(directory)}
    result = evaluate(directory)
    index = MatchIndex()
    for post in posts.values():
        index.add(post)
    for title, pairs in (
        ("false positives", result["false_positives"]),
        ("false negatives", result["false_negatives"]),
    ):
        print(f"\n{name}: {title} ({len(pairs)})")
        for want_id, offer_id in pairs:
            explanation = explain_pair(index, want_id, offer_id)
            print(f"  {want_id} x {offer_id}: {explanation.summary}")
            print(f"    W: {posts[want_id].text}\n    O: {posts[offer_id].text}")


def main(argv: list[str] | None = None) -> int:
    """Print, for each set, batch and live figures beside the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="eval,dev,heldout", help="comma-separated set names")
    parser.add_argument("--orders", type=int, default=10, help="shuffled orders for the live path")
    parser.add_argument("--misses", metavar="SET", help="list the batch path's errors on a set")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETS]
    if unknown or args.orders < 0:
        parser.error(
            f"unknown set {', '.join(unknown)} (choose from {', '.join(SETS)})"
            if unknown
            else "--orders must be 0 or more"
        )
    if args.misses:
        if args.misses not in SETS:
            parser.error(f"unknown set {args.misses}")
        _misses(args.misses, SETS[args.misses])
        return 0
    report: dict[str, Any] = {}
    for name in names:
        directory = SETS[name]
        batch = evaluate(directory)
        entry: dict[str, Any] = {
            "role": ROLE[name],
            "gold": batch["gold"],
            "same_council_left_out": same_council_pairs(directory),
            "batch": batch["engine"],
            "baseline": batch["baseline"],
        }
        if args.orders:
            live = evaluate_live(directory, args.orders)
            entry["live_mean"], entry["live_worst"] = live["mean"], live["worst"]
            entry["live_orders"] = live["orders"]
        report[name] = entry
        if args.json:
            continue
        posts = load_labelled(directory)
        wants = sum(1 for p in posts if p.kind == "want")
        print(
            f"\n{name} ({ROLE[name]}): {wants} wants, {len(posts) - wants} offers, "
            f"{entry['gold']} labelled pairs"
            + (
                f" ({entry['same_council_left_out']} same-council pairs left out)"
                if entry["same_council_left_out"]
                else ""
            )
        )
        print(f"{'':44}{'precision':>10}{'recall':>8}{'F1':>8}{'pairs':>8}")
        print(_row("engine, batch (kmbot matches)", entry["batch"]))
        if args.orders:
            print(_row(f"engine, live, mean of {args.orders} orders", entry["live_mean"]))
            print(_row("engine, live, worst order", entry["live_worst"]))
        print(
            _row(f"token_set_ratio >= {entry['baseline']['threshold']} (best)", entry["baseline"])
        )
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
