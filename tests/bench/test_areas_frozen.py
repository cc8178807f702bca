"""The held-out service-area set is frozen: the classifier is never tuned on it.

If this fails, the set was edited. Put it back (``git checkout bench/areas/heldout.csv``).
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bot.reports.outputs import classifier

AREAS = Path(__file__).resolve().parents[2] / "bench" / "areas"
FROZEN = "8a5f35adf09083b5ce5496c2ae3f826fb86e546280e360859669f40526bb5594"


def test_the_heldout_area_set_is_byte_for_byte_as_frozen() -> None:
    assert hashlib.sha256((AREAS / "heldout.csv").read_bytes()).hexdigest() == FROZEN


def test_both_area_sets_use_only_real_lgsl_functions_and_cover_all_thirteen() -> None:
    known = set(classifier().areas)
    for name in ("dev.csv", "heldout.csv"):
        with open(AREAS / name, encoding="utf-8", newline="") as handle:
            labels = Counter((row["area"] or "").strip() for row in csv.DictReader(handle))
        assert set(labels) - {""} == known, name
        assert min(labels[area] for area in known) >= 3, name


def test_eval_areas_prints_both_sets_beside_the_baselines() -> None:
    done = subprocess.run(
        [sys.executable, str(AREAS.parent / "eval_areas.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = ["set", "posts", "accuracy", "precision", "recall", "commonest", "nothing"]
    assert lines[0].split() == header
    for name in ("dev (tuned on)", "heldout (held out, never tuned on)"):
        row = next(line for line in lines if line.startswith(name)).split()
        accuracy, baselines = float(row[-5]), (float(row[-2]), float(row[-1]))
        assert accuracy > max(baselines), row
