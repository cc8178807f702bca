"""Matching speed at network scale: the engine against a plain rapidfuzz scan, same posts, same run.

For each size, N open offers (generated from the Local Government Services List, see corpus.py)
are indexed; then each of Q new wants is matched as the bot does on /want (``MatchIndex.add``
then ``matches_for``). The baseline scans the same N offers with
``rapidfuzz.process.extract(..., scorer=fuzz.token_set_ratio)`` (texts lower-cased once,
beforehand: the baseline is given its normalised text for free). Per-post wall and CPU times,
p50 and p95; the F1 of each on the labelled set (bench/eval) is printed beside, so speed is never
bought with quality. Plain text; exits 0.

The live rule columns add what /want does after that: each match judged from both sides
(``MatchIndex.judge``), the matched posts' own best partners worked out when first needed.

Usage: python bench/bench_matching.py [--posts 1000,10000,100000] [--queries 200] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz, process  # noqa: E402

from bench.corpus import PostGenerator  # noqa: E402
from bench.eval_matching import evaluate  # noqa: E402
from bench.support import machine_note, percentile, sizes, table  # noqa: E402
from bot.matching import (  # noqa: E402
    DEFAULT_CANDIDATE_THRESHOLD,
    DEFAULT_INTRO_THRESHOLD,
    DEFAULT_MAX_INTROS,
    DEFAULT_RUNNER_UP_GAP,
    MatchIndex,
    PostForMatching,
)

_METRICS = ("precision", "recall", "f1")


def measure(n: int, queries: int, seed: int = 7) -> dict[str, float]:
    """Index n offers, match ``queries`` wants with the engine and with the scan baseline."""
    gen = PostGenerator(seed)
    councils = {name: i for i, name in enumerate(gen.councils, start=1)}
    offers = [
        PostForMatching(i, "offer", councils.get(p.council, 0), p.text, p.area)
        for i, p in enumerate(gen.posts(n, "offer"), start=1)
    ]
    wants = [
        PostForMatching(10_000_000 + i, "want", councils.get(p.council, 0), p.text, p.area)
        for i, p in enumerate(gen.posts(queries, "want"))
    ]
    index = MatchIndex()
    started, cpu = time.perf_counter(), time.process_time()
    for offer in offers:
        index.add(offer)
    load_s, load_cpu = time.perf_counter() - started, time.process_time() - cpu

    engine_wall, engine_cpu = [], []
    for want in wants:
        t, c = time.perf_counter(), time.thread_time()
        index.add(want)  # as on /want: the new post joins the store, then is matched
        index.matches_for(want)
        engine_wall.append((time.perf_counter() - t) * 1000)
        engine_cpu.append((time.thread_time() - c) * 1000)
        index.remove(want.id)  # keep the store at n posts for the next query

    # The live path: the same, then each match judged from both sides (the matched posts' own
    # best partners, worked out the first time they are needed: mostly cold here).
    live_wall = []
    for want in wants:
        t = time.perf_counter()
        index.add(want)
        found = index.matches_for(want, threshold=DEFAULT_CANDIDATE_THRESHOLD, limit=9)
        index.judge(
            want,
            found,
            threshold=DEFAULT_INTRO_THRESHOLD,
            max_per_post=DEFAULT_MAX_INTROS,
            runner_up_gap=DEFAULT_RUNNER_UP_GAP,
        )
        live_wall.append((time.perf_counter() - t) * 1000)
        index.remove(want.id)

    choices = {o.id: o.text.lower() for o in offers}
    councils_of = {o.id: o.council_id for o in offers}
    scan_wall, scan_cpu = [], []
    for want in wants:
        t, c = time.perf_counter(), time.thread_time()
        found = process.extract(
            want.text.lower(), choices, scorer=fuzz.token_set_ratio, limit=20, score_cutoff=53
        )
        _best = [f for f in found if councils_of[f[2]] != want.council_id][:3]
        scan_wall.append((time.perf_counter() - t) * 1000)
        scan_cpu.append((time.thread_time() - c) * 1000)
    return {
        "n": n,
        "load_s": load_s,
        "load_cpu": load_cpu,
        "engine_p50": percentile(engine_wall, 50),
        "engine_p95": percentile(engine_wall, 95),
        "engine_cpu50": percentile(engine_cpu, 50),
        "live_p50": percentile(live_wall, 50),
        "live_p95": percentile(live_wall, 95),
        "scan_p50": percentile(scan_wall, 50),
        "scan_p95": percentile(scan_wall, 95),
        "scan_cpu50": percentile(scan_cpu, 50),
    }


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", default="1000,10000,100000", help="open-post counts")
    parser.add_argument("--queries", type=int, default=200, help="new posts matched per size")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args(argv)
    counts = [200, 1000] if args.quick else sizes(args.posts)
    queries = 20 if args.quick else args.queries

    print("Matching benchmark: a new want against N open offers; ms per post")
    print(f"Machine: {machine_note()}")
    rows = []
    for n in counts:
        r = measure(n, queries)
        rows.append(
            [
                f"{int(r['n']):,}",
                r["engine_p50"],
                r["engine_p95"],
                r["engine_cpu50"],
                r["live_p50"],
                r["live_p95"],
                r["scan_p50"],
                r["scan_p95"],
                r["scan_p50"] / max(r["engine_p50"], 1e-9),
                r["load_s"],
            ]
        )
        print(f"  {int(r['n']):,} open posts done", flush=True)
    print()
    print(
        table(
            [
                "open posts",
                "engine p50",
                "engine p95",
                "engine cpu p50",
                "live rule p50",
                "live rule p95",
                "scan p50",
                "scan p95",
                "scan/engine p50",
                "index load s",
            ],
            rows,
        )
    )
    quality = evaluate()
    engine, baseline = quality["engine"], quality["baseline"]
    print()
    print(f"Quality on the labelled set ({quality['gold']} pairs, bench/eval):")
    print(
        table(
            ["", "precision", "recall", "F1"],
            [
                ["engine (all_matches, defaults)", *(f"{engine[k]:.3f}" for k in _METRICS)],
                [
                    f"scan baseline (token_set_ratio >= {baseline['threshold']})",
                    *(f"{baseline[k]:.3f}" for k in _METRICS),
                ],
            ],
        )
    )
    print()
    print(
        f"Queries per size: {queries}. Target at 100,000: engine p50 <= 20 ms and >= 10x the "
        "scan; F1 >= 0.932."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
