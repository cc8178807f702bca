"""Service areas: which of the Local Government Services List's 13 top-level functions a post is
about ("Housing", "Transport and highways", …).

Pure: reads the shipped LGSL files (``bot/data/lgsl-functions.csv`` and ``lgsl-services.csv``)
and knows nothing of the database or Slack. It does not normalise text itself: the caller hands
it the matching engine's ``normalise`` (as a function from text to terms), so stems, acronyms
and glossary phrases agree with matching.

How the classifier is built, since the services file does not say which function a service
belongs to:

1. A term's weight is its IDF over the ~1,000 live services' labels and descriptions, so "bus",
   "tenancy" or "PCN" decide a lot and "support" or "local" little. Words that say what kind of
   knowledge a post is about rather than which service ("lessons learned", "template",
   "training", "process map", ``KM_WORDS``) decide nothing.
2. Each top-level function's vocabulary starts with the terms of its own label and, more heavily,
   of the labels of the functions under it ("Parking", "Libraries", "Homelessness and prevention").
3. Each live service is placed under the top-level function whose label vocabulary its label
   (twice) and description share most with, by IDF, when one function is clearly ahead; its
   label's terms then join that function's vocabulary, and its description's terms a little.

A text's area is the function its terms weigh most in, if that reaches ``MIN_SCORE``. Measured by
``bench/eval_areas.py`` on a labelled development set and a held-out set nothing was tuned on.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.kernel.data import DATA_DIR

__all__ = ["FUNCTIONS_FILE", "SERVICES_FILE", "UNCLASSIFIED", "ServiceAreaClassifier", "Terms"]

FUNCTIONS_FILE = DATA_DIR / "lgsl-functions.csv"
SERVICES_FILE = DATA_DIR / "lgsl-services.csv"

Terms = Callable[[str], Iterable[str]]

# What reports and the live board call the area of a text the classifier finds none for.
UNCLASSIFIED = "Other"

# Tuned on bench/areas/dev.csv, never on bench/areas/heldout.csv (run bench/eval_areas.py).
FUNCTION_LABEL_WEIGHT = 4.0
CHILD_LABEL_WEIGHT = 8.0
SERVICE_LABEL_WEIGHT = 1.0
SERVICE_DESCRIPTION_WEIGHT = 0.3
# A service joins a function only when that function's overlap is this much ahead of the next.
PLACEMENT_MARGIN = 1.0
# Below this a text is about no area in particular.
MIN_SCORE = 7.0
# What kind of knowledge a post is about, or how it is asked, rather than which service.
KM_WORDS = """
lesson lessons learned learnt learning training train trained knowledge capture share sharing
shared template templates guidance guide process map mapping review best practice case studies
study toolkit example examples anyone offer want happy looking keen work plan planning project
management manager managers team staff officer officers member members council councils resident
residents service services system data information document documents report policy strategy
framework model tool material materials hub wiki sharepoint teams community communities network
support advice help new use using used run running
"""


@dataclass(frozen=True)
class _Function:
    id: str
    label: str
    parent: str | None


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _short(found: Iterable[str]) -> list[str]:
    """Words and two-word phrases: longer phrases are too rare in the LGSL to weigh anything."""
    return [t for t in found if t.count(" ") <= 1]


class ServiceAreaClassifier:
    """Classifies free text into one of the LGSL's top-level functions."""

    def __init__(
        self, areas: dict[str, dict[str, float]], generic: frozenset[str] = frozenset()
    ) -> None:
        self._weights = areas
        self._generic = generic
        self.areas: tuple[str, ...] = tuple(areas)

    @classmethod
    def from_files(
        cls,
        terms: Terms,
        *,
        functions: Path = FUNCTIONS_FILE,
        services: Path = SERVICES_FILE,
    ) -> ServiceAreaClassifier:
        """Build the classifier from the LGSL files, with ``terms`` as the text normaliser."""
        rows = [
            _Function(r["Identifier"], r["Label"].strip(), (r["Parent identifiers"] or "").strip())
            for r in _read(functions)
            if r.get("Identifier") and r.get("Label")
        ]
        by_id = {f.id: f for f in rows}

        def top(f: _Function) -> _Function:
            seen = set()
            while f.parent and f.parent in by_id and f.id not in seen:
                seen.add(f.id)
                f = by_id[f.parent]
            return f

        generic = set(_short(terms(KM_WORDS)))

        def text_terms(text: str, *, keep_generic: bool = False) -> set[str]:
            found = set(_short(terms(text)))
            return found if keep_generic else found - generic

        live = [r for r in _read(services) if (r.get("Status") or "Live").strip() == "Live"]
        frequency: Counter[str] = Counter()
        for r in live:
            frequency.update(
                text_terms(
                    f"{r.get('Label') or ''}. {r.get('Description') or ''}", keep_generic=True
                )
            )

        def idf(term: str) -> float:
            return math.log((len(live) + 1) / (frequency.get(term, 0) + 1)) + 0.5

        raw: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        label_terms: dict[str, set[str]] = defaultdict(set)
        for f in rows:
            label_terms[top(f).label] |= text_terms(f.label)
        # A label word several functions use ("waste" under both environmental protection and
        # licences) says less about each of them.
        shared = Counter(t for vocabulary in label_terms.values() for t in vocabulary)
        for f in rows:
            for t in text_terms(f.label):
                weight = CHILD_LABEL_WEIGHT if f.parent else FUNCTION_LABEL_WEIGHT
                raw[top(f).label][t] += weight / shared[t]
        for r in live:
            label = text_terms(r.get("Label") or "")
            described = text_terms(r.get("Description") or "") - label
            overlap = sorted(
                (
                    (
                        sum(idf(t) for t in label & vocabulary) * 2
                        + sum(idf(t) for t in described & vocabulary),
                        area,
                    )
                    for area, vocabulary in label_terms.items()
                ),
                reverse=True,
            )
            if not overlap or overlap[0][0] <= 0:
                continue
            if len(overlap) > 1 and overlap[0][0] - overlap[1][0] < PLACEMENT_MARGIN:
                continue
            area = overlap[0][1]
            for t in label:
                raw[area][t] += SERVICE_LABEL_WEIGHT
            for t in described:
                raw[area][t] += SERVICE_DESCRIPTION_WEIGHT
        weights = {
            area: {t: math.log1p(c) * idf(t) for t, c in counts.items()}
            for area, counts in raw.items()
        }
        ordered = [top(f).label for f in rows if not f.parent]
        return cls({a: weights.get(a, {}) for a in dict.fromkeys(ordered)}, frozenset(generic))

    def scores(self, text_terms: Iterable[str]) -> list[tuple[str, float]]:
        """Each area's score for these terms, best first (areas scoring nothing left out)."""
        found = set(_short(text_terms)) - self._generic
        scored = [
            (area, sum(weights.get(t, 0.0) for t in found))
            for area, weights in self._weights.items()
        ]
        return sorted(((a, s) for a, s in scored if s > 0), key=lambda pair: (-pair[1], pair[0]))

    def classify_terms(self, text_terms: Iterable[str]) -> str | None:
        """The area these terms are about, or None when none stands out."""
        scored = self.scores(text_terms)
        if not scored or scored[0][1] < MIN_SCORE:
            return None
        return scored[0][0]
