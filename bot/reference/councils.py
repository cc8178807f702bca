"""The council directory: which council a person means by a name, an abbreviation or an email.

Pure: reads the shipped reference CSV, knows nothing of the database or Slack. How names are
normalised, and the reference list itself, are in ``bot.reference.council_names``.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.reference.council_names import (
    CouncilRecord,
    Resolution,
    as_domain,
    core_name,
    display_name,
    email_domain,
    expand_abbreviations,
    load_reference_councils,
    normalise_name,
    type_hints,
)

__all__ = [
    "CouncilDirectory",
    "CouncilRecord",
    "Resolution",
    "display_name",
    "email_domain",
    "load_reference_councils",
    "normalise_name",
]

# A fuzzy match is accepted only at or above this score (0-100) ...
FUZZY_ACCEPT = 88
# ... and only when it leads the best other council by at least this much.
FUZZY_LEAD = 6
# Below FUZZY_ACCEPT, councils scoring this much are still offered as candidates.
FUZZY_CANDIDATE = 60
MAX_CANDIDATES = 5
# The picker shows fuzzy matches scoring at least this much (rapidfuzz WRatio).
SEARCH_CUTOFF = 80


# --- councils known by older names ---

# Councils abolished in the reorganisations since 2009 that members still name; they resolve to
# "none" (so the caller may accept them as given) but offer the successor council as a candidate.
_SUCCESSORS: dict[str, tuple[str, ...]] = {
    "Somerset Council": (
        "Taunton Deane", "West Somerset", "Somerset West and Taunton", "Mendip", "Sedgemoor",
        "South Somerset",
    ),
    "Buckinghamshire Council": ("Aylesbury Vale", "Chiltern", "South Bucks", "Wycombe"),
    "Dorset Council": (
        "East Dorset", "North Dorset", "Purbeck", "West Dorset", "Weymouth and Portland",
    ),
    "Bournemouth, Christchurch and Poole Council": ("Bournemouth", "Christchurch", "Poole"),
    "West Suffolk Council": ("Forest Heath", "St Edmundsbury"),
    "East Suffolk Council": ("Suffolk Coastal", "Waveney"),
    "North Northamptonshire Council": (
        "Corby", "East Northamptonshire", "Kettering", "Wellingborough",
    ),
    "West Northamptonshire Council": ("Daventry", "Northampton", "South Northamptonshire"),
    "Cumberland Council": ("Allerdale", "Carlisle", "Copeland"),
    "Westmorland and Furness Council": ("Barrow-in-Furness", "Barrow", "Eden", "South Lakeland"),
    "North Yorkshire Council": (
        "Craven", "Hambleton", "Harrogate", "Richmondshire", "Ryedale", "Scarborough", "Selby",
    ),
    "Durham County Council": (
        "Chester-le-Street", "Derwentside", "Easington", "Sedgefield", "Teesdale", "Wear Valley",
    ),
    "Northumberland County Council": (
        "Alnwick", "Berwick-upon-Tweed", "Blyth Valley", "Castle Morpeth", "Tynedale", "Wansbeck",
    ),
    "Wiltshire Council": ("Kennet", "North Wiltshire", "Salisbury", "West Wiltshire"),
    "Shropshire Council": (
        "Bridgnorth", "North Shropshire", "Oswestry", "Shrewsbury and Atcham", "South Shropshire",
    ),
    "Cornwall Council": ("Caradon", "Carrick", "Kerrier", "North Cornwall", "Penwith", "Restormel"),
    "Central Bedfordshire Council": ("Mid Bedfordshire", "South Bedfordshire"),
    "Cheshire West and Chester Council": ("Chester", "Ellesmere Port and Neston", "Vale Royal"),
    "Cheshire East Council": ("Congleton", "Crewe and Nantwich", "Macclesfield"),
    "Folkestone and Hythe District Council": ("Shepway",),
}  # fmt: skip
# Whole former counties split between two successors.
_SPLIT_SUCCESSORS: dict[str, tuple[str, ...]] = {
    "Northamptonshire": ("North Northamptonshire Council", "West Northamptonshire Council"),
    "Cumbria": ("Cumberland Council", "Westmorland and Furness Council"),
}


# --- the directory ---


def _rank(record: CouncilRecord) -> int:
    # When a name is shared, a council people actually join beats a combined authority.
    return 1 if record.type == "Combined authority" else 0


class CouncilDirectory:
    """Every known council, indexed for resolving names, abbreviations and email addresses."""

    def __init__(self, records: Iterable[CouncilRecord]) -> None:
        self.records: tuple[CouncilRecord, ...] = tuple(records)
        self._exact: dict[str, list[CouncilRecord]] = defaultdict(list)
        self._alt: dict[str, list[CouncilRecord]] = defaultdict(list)
        self._core: dict[str, list[CouncilRecord]] = defaultdict(list)
        self._domain: dict[str, list[CouncilRecord]] = defaultdict(list)
        self._labels: dict[str, list[CouncilRecord]] = defaultdict(list)
        self._predecessors: dict[str, tuple[CouncilRecord, ...]] = {}
        # Search keys: (normalised key, record), one per name a council goes by.
        self._keys: list[tuple[str, CouncilRecord]] = []
        by_name = {normalise_name(r.name): r for r in self.records}

        def add(index: dict[str, list[CouncilRecord]], key: str, record: CouncilRecord) -> None:
            if key and record not in index[key]:
                index[key].append(record)

        for record in self.records:
            for value in (record.name, record.short_name, record.code, record.gss_code):
                if value:
                    add(self._exact, normalise_name(value), record)
            names = (record.name, record.short_name, *record.alt_names)
            for alt in record.alt_names:
                add(self._alt, normalise_name(alt), record)
            for value in names:
                add(self._core, core_name(value), record)
                key = normalise_name(value)
                if (key, record) not in self._keys:
                    self._keys.append((key, record))
            if record.web_domain:
                add(self._domain, record.web_domain, record)
                # "rbkc", "bathnes", "bcpcouncil": people use a council's web name as its name.
                add(self._labels, core_name(record.web_domain.split(".")[0]), record)
        for successor, olds in _SUCCESSORS.items():
            found = by_name.get(normalise_name(successor))
            if found:
                for old in olds:
                    self._predecessors.setdefault(core_name(old), (found,))
        for old, successors in _SPLIT_SUCCESSORS.items():
            found_all = tuple(
                by_name[normalise_name(s)] for s in successors if normalise_name(s) in by_name
            )
            if found_all:
                self._predecessors.setdefault(core_name(old), found_all)
        self._core_keys = list(self._core)
        # A web name that is also the start of another council's name ("kingston" for Kingston
        # upon Thames, but also Kingston upon Hull) proves nothing.
        for label, owners in list(self._labels.items()):
            if len(owners) > 1 or self._starting(label) - {id(owners[0])}:
                del self._labels[label]
        for record in self.records:
            # A current council always wins over a former one of the same name.
            for value in (record.name, record.short_name, *record.alt_names):
                self._predecessors.pop(core_name(value), None)

    @classmethod
    def reference(cls) -> CouncilDirectory:
        """The directory of the shipped reference councils, built once."""
        return _reference_directory()

    def __len__(self) -> int:
        return len(self.records)

    def resolve(self, typed: str) -> Resolution:
        """Which council a person means by a name, an abbreviation, or an email address."""
        text = " ".join(typed.split())
        norm = normalise_name(text)
        if not norm:
            return Resolution(None, "none")
        found = self._pick(self._exact.get(norm, []), text)
        if found:
            return self._answer(found, "exact")
        found = self._pick(self._alt.get(norm, []), text)
        if found:
            return self._answer(found, "alternative name")
        if "@" in text or (" " not in text and "." in text):
            by_domain = self.by_email(text)
            if by_domain.how != "none":
                return by_domain
        core = core_name(text)
        if not core:
            # Only designators ("Borough Council", "CC"): says nothing about which council.
            return Resolution(None, "none")
        found = self._pick(self._core.get(core, []), text)
        if found:
            return self._answer(found, "exact")
        if core in self._labels:
            return self._answer(self._labels[core], "alternative name")
        if core in self._predecessors:
            return Resolution(None, "none", self._predecessors[core])
        return self._fuzzy(core, text)

    def by_email(self, email: str) -> Resolution:
        """Which council an email address (or a bare web domain) belongs to."""
        domain = as_domain(email)
        if not domain:
            return Resolution(None, "none")
        domain = domain.removeprefix("www.")
        # Walk up the subdomains: staff.devon.gov.uk -> devon.gov.uk.
        labels = domain.split(".")
        for start in range(len(labels) - 1):
            found = self._domain.get(".".join(labels[start:]))
            if found:
                return self._answer(found, "email domain")
        return Resolution(None, "none")

    def search(self, query: str, limit: int = 10) -> list[CouncilRecord]:
        """Councils for a type-ahead picker: prefix matches first, then fuzzy ones."""
        norm = normalise_name(query)
        if not norm:
            return sorted(self.records, key=lambda r: r.name)[:limit]
        expanded = " ".join(expand_abbreviations(norm))
        best: dict[str, tuple[float, CouncilRecord]] = {}

        def offer(record: CouncilRecord, score: float) -> None:
            key = record.gss_code or record.name
            if key not in best or best[key][0] < score:
                best[key] = (score, record)

        for key, record in self._keys:
            for q in {norm, expanded}:
                if key.startswith(q):
                    # Shorter names first: "Kent" before "Kentish Town"; councils before CAs.
                    offer(record, 300 - len(key) / 10 - _rank(record))
                elif f" {q}" in f" {key}":
                    offer(record, 200 - len(key) / 10 - _rank(record))
        if len(best) < limit and len(norm) >= 4:
            keys = [k for k, _ in self._keys]
            for _, score, index in process.extract(
                expanded, keys, scorer=fuzz.WRatio, limit=limit * 4, score_cutoff=SEARCH_CUTOFF
            ):
                offer(self._keys[index][1], score - _rank(self._keys[index][1]))
        ranked = sorted(best.values(), key=lambda item: (-item[0], item[1].name))
        return [record for _, record in ranked[:limit]]

    # --- internals ---

    def _pick(self, found: list[CouncilRecord], typed: str) -> list[CouncilRecord]:
        """Narrow councils sharing a name by the type words typed ("CC", "Borough", ...)."""
        if len(found) <= 1:
            return found
        hints = type_hints(typed)
        if hints:
            scored = [(len(hints & type_hints(f"{r.name} {r.type or ''}")), r) for r in found]
            top = max(score for score, _ in scored)
            narrowed = [r for score, r in scored if score == top]
            if len(narrowed) == 1:
                return narrowed
            found = narrowed
        councils = [r for r in found if _rank(r) == 0]
        return councils if len(councils) == 1 else found

    def _answer(self, found: list[CouncilRecord], how: str) -> Resolution:
        if len(found) == 1:
            return Resolution(found[0], how, (found[0],))
        return Resolution(None, "ambiguous", tuple(found[:MAX_CANDIDATES]))

    def _starting(self, core: str) -> set[int]:
        """Ids of the councils with a name whose core is, or starts with, ``core``."""
        return {
            id(r)
            for key, records in self._core.items()
            if key == core or key.startswith(core + " ")
            for r in records
        }

    def _fuzzy(self, core: str, typed: str) -> Resolution:
        wants_authority = bool({"combined", "authority"} & set(core.split()))
        # A typed core that starts exactly one council's core ("Brighton", "Windsor") is that one;
        # combined authorities only when asked for, as their names reuse county names.
        if len(core) >= 4:
            starting = self._starting(core)
            starts = [
                r for r in self.records if id(r) in starting and (wants_authority or not _rank(r))
            ]
            if len(starts) == 1:
                return Resolution(starts[0], "fuzzy", (starts[0],))
            if 1 < len(starts) <= MAX_CANDIDATES:
                # "Kingston": upon Thames or upon Hull? Let the person choose.
                return Resolution(None, "ambiguous", tuple(starts))
        # Forgive misspelt designators too ("County Concil") before comparing.
        core = core_name(typed, lenient=True) or core
        scores: dict[int, tuple[float, int, CouncilRecord]] = {}
        for key, score, _ in process.extract(
            core, self._core_keys, scorer=fuzz.ratio, limit=40, score_cutoff=FUZZY_CANDIDATE
        ):
            distance = OSA.distance(core, key)
            for record in self._core[key]:
                held = scores.get(id(record))
                if held is None or (held[0], -held[1]) < (score, -distance):
                    scores[id(record)] = (score, distance, record)
        ranked = sorted(
            scores.values(),
            key=lambda item: (item[1], -item[0], _rank(item[2]), item[2].name),
        )
        if not ranked:
            return Resolution(None, "none")
        # Councils whose name holds every word typed ("Beds" -> Central Bedfordshire) first.
        words = set(core.split())
        ranked.sort(key=lambda item: not words <= set(core_name(item[2].name).split()))
        candidates = tuple(item[2] for item in ranked[:MAX_CANDIDATES])
        best_score, best_distance, best = ranked[0]
        others = ranked[1:]
        # One slip (two in a long name) from exactly one council: a typo, not a different place.
        allowed = 0 if len(core) < 5 else 1 if len(core) < 12 else 2
        if best_distance <= allowed:
            if all(item[1] > best_distance for item in others):
                return Resolution(best, "fuzzy", candidates)
            return Resolution(None, "ambiguous", candidates)
        by_score = sorted((item[0] for item in ranked), reverse=True)
        if best_score >= FUZZY_ACCEPT and best_score == by_score[0]:
            runner_up = by_score[1] if len(by_score) > 1 else 0.0
            if best_score - runner_up >= FUZZY_LEAD:
                return Resolution(best, "fuzzy", candidates)
            return Resolution(None, "ambiguous", candidates)
        return Resolution(None, "none", candidates)


@functools.cache
def _reference_directory() -> CouncilDirectory:
    return CouncilDirectory(load_reference_councils())
