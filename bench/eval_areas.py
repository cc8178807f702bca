"""Service-area classification quality: which LGSL top-level function a post is about.

Two labelled sets in ``bench/areas/`` (``text,area``; an empty area means "about no service in
particular"), written blind from the product brief and the LGSL function list: ``dev.csv`` for
tuning, ``heldout.csv`` never tuned on. Prints, per set, the share of posts given the labelled
area (accuracy), and precision and recall of naming an area at all, beside a baseline that files
every post under the set's commonest area.

Usage: python bench/eval_areas.py [--sets dev,heldout] [--misses SET]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.reports.outputs import classifier, terms_of  # noqa: E402

AREAS = Path(__file__).resolve().parent / "areas"
SETS = {"dev": "tuned on", "heldout": "held out, never tuned on"}


def load(name: str) -> list[tuple[str, str]]:
    with (AREAS / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["text"], (row["area"] or "").strip()) for row in csv.DictReader(handle)]


def evaluate(name: str) -> dict[str, float | int | list[tuple[str, str, str]]]:
    """Accuracy and the rest for one set, with the wrong answers."""
    rows = load(name)
    model = classifier()
    wrong: list[tuple[str, str, str]] = []
    right = named = named_right = labelled = 0
    for text, gold in rows:
        got = model.classify_terms(terms_of(text)) or ""
        right += got == gold
        named += bool(got)
        labelled += bool(gold)
        named_right += bool(got) and got == gold
        if got != gold:
            wrong.append((text, gold, got))
    commonest = Counter(gold for _t, gold in rows if gold).most_common(1)[0][0]
    return {
        "posts": len(rows),
        "accuracy": right / len(rows),
        "precision": named_right / named if named else 0.0,
        "recall": named_right / labelled if labelled else 0.0,
        "baseline": sum(gold == commonest for _t, gold in rows) / len(rows),
        "nothing": sum(not gold for _t, gold in rows) / len(rows),
        "wrong": wrong,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="dev,heldout")
    parser.add_argument("--misses", default="", help="list the wrong answers for this set")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    for name in [*names, args.misses]:
        if name and name not in SETS:
            parser.error(f"unknown set {name} (choose from {', '.join(SETS)})")
    print(
        f"{'set':<34}{'posts':>6}{'accuracy':>10}{'precision':>11}{'recall':>8}"
        f"{'commonest':>11}{'nothing':>9}"
    )
    for name in names:
        r = evaluate(name)
        print(
            f"{name + ' (' + SETS[name] + ')':<34}{r['posts']:>6}{r['accuracy']:>10.3f}"
            f"{r['precision']:>11.3f}{r['recall']:>8.3f}{r['baseline']:>11.3f}{r['nothing']:>9.3f}"
        )
    print(
        "accuracy: posts given the labelled area (or none when none is labelled); precision and "
        "recall: of naming an area; baselines: every post under the commonest area, or none"
    )
    if args.misses:
        print(f"\n{args.misses}: wrong answers")
        for text, gold, got in evaluate(args.misses)["wrong"]:  # type: ignore[union-attr]
            print(f"  want {gold or '(none)'!r}, got {got or '(none)'!r}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
