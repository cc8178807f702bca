"""The held-out matching set is frozen: nothing may be tuned on it, so nothing may change it.

If this fails, the set was edited. Put it back (``git checkout bench/heldout``): a held-out set
that moves with the engine no longer measures how the engine does on posts it has never seen.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

HELDOUT = Path(__file__).resolve().parents[2] / "bench" / "heldout"
FROZEN = {
    "posts.csv": "38e3d1a5413125e42f53b2314f6b892c33577e17d0dcecbfb49b8ab2a5977a11",
    "pairs.csv": "11ebb858484c14baca060ab6cecf2602b235eb6ffe62330c350271fbc219f8d5",
}


def test_the_heldout_files_are_byte_for_byte_as_frozen() -> None:
    for name, digest in FROZEN.items():
        assert hashlib.sha256((HELDOUT / name).read_bytes()).hexdigest() == digest, name


def test_the_heldout_set_is_big_enough_and_its_pairs_name_real_posts() -> None:
    with open(HELDOUT / "posts.csv", encoding="utf-8", newline="") as handle:
        posts = {int(row["id"]): row for row in csv.DictReader(handle)}
    kinds = Counter(row["kind"] for row in posts.values())
    assert kinds["want"] >= 60 and kinds["offer"] >= 60
    with open(HELDOUT / "pairs.csv", encoding="utf-8", newline="") as handle:
        pairs = [(int(r["want_id"]), int(r["offer_id"])) for r in csv.DictReader(handle)]
    assert pairs
    for want_id, offer_id in pairs:
        assert posts[want_id]["kind"] == "want" and posts[offer_id]["kind"] == "offer"
        assert posts[want_id]["council"] != posts[offer_id]["council"]
    assert {row["area"] for row in posts.values()} >= {"IM", "CF", "CO", "OL"}
