"""The council directory: which council a person means by a name, an abbreviation or an email.

Pure: reads the shipped reference CSV, knows nothing of the database or Slack.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

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


@dataclass(frozen=True, slots=True)
class CouncilRecord:
    """One UK local authority from the reference list."""

    code: str | None
    name: str
    short_name: str
    gss_code: str | None
    nation: str | None
    region: str | None
    type: str | None
    web_domain: str | None
    alt_names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resolution:
    """The answer to "which council is this?"."""

    record: CouncilRecord | None
    how: str  # "exact", "alternative name", "email domain", "fuzzy", "none", "ambiguous"
    candidates: tuple[CouncilRecord, ...] = ()


def display_name(record: CouncilRecord) -> str:
    """The council's name as the bot shows it."""
    return record.name


# --- normalisation ---

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_name(text: str) -> str:
    """Lowercase, accent-free, punctuation-free, single-spaced; "&" reads as "and"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    # Apostrophes join rather than split, so "King's Lynn" and "Kings Lynn" agree.
    text = text.replace("'", "").replace("\u2019", "").replace("&", " and ")
    return _NON_ALNUM.sub(" ", text).strip()


# Nicknames and abbreviations people write on flip charts, expanded token by token.
_EXPANSIONS: dict[str, str] = {
    "notts": "nottinghamshire",
    "lancs": "lancashire",
    "herts": "hertfordshire",
    "bucks": "buckinghamshire",
    "beds": "bedfordshire",
    "cambs": "cambridgeshire",
    "glos": "gloucestershire",
    "gloucs": "gloucestershire",
    "hants": "hampshire",
    "leics": "leicestershire",
    "lincs": "lincolnshire",
    "northants": "northamptonshire",
    "oxon": "oxfordshire",
    "staffs": "staffordshire",
    "wilts": "wiltshire",
    "worcs": "worcestershire",
    "warks": "warwickshire",
    "derbys": "derbyshire",
    "berks": "berkshire",
    "salop": "shropshire",
    "yorks": "yorkshire",
    "brum": "birmingham",
    "st": "saint",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "ne": "north east",
    "nw": "north west",
    "se": "south east",
    "sw": "south west",
    "ca": "combined authority",
    "mca": "mayoral combined authority",
}

# Words that say what kind of council it is rather than which one; dropped from the "core".
_DESIGNATORS = frozenset(
    {
        "council", "county", "city", "borough", "boro", "district", "metropolitan", "royal",
        "unitary", "of", "the", "and", "cc", "lb", "lbo", "rb", "rbc", "mbc", "mdc", "cbc", "bc",
        "dc", "ua", "upon", "on",
    }
)  # fmt: skip
_MISSPELT_DESIGNATORS = ("council", "county", "borough", "district", "metropolitan")
# "London" is a designator only in "London Borough (of)"; elsewhere (Greater London) it names.
_LONDON_BOROUGH = re.compile(r"\blondon (?:borough|boro)\b")
# Designators that hint at a council's type, used to tell apart councils with the same core.
_HINTS: dict[str, str] = {
    "county": "county",
    "cc": "county city",
    "city": "city",
    "borough": "borough",
    "boro": "borough",
    "bc": "borough",
    "mbc": "borough metropolitan",
    "rb": "borough royal",
    "rbc": "borough royal",
    "lb": "borough london",
    "lbo": "borough london",
    "district": "district",
    "dc": "district",
    "mdc": "district metropolitan",
    "royal": "royal",
    "metropolitan": "metropolitan",
    "london": "london",
}


def _expand(norm: str) -> list[str]:
    tokens: list[str] = []
    for token in norm.split():
        tokens.extend(_EXPANSIONS.get(token, token).split())
    return tokens


def _is_designator(token: str, lenient: bool) -> bool:
    if token in _DESIGNATORS:
        return True
    return (
        lenient
        and len(token) >= 5
        and any(OSA.distance(token, word) <= 1 for word in _MISSPELT_DESIGNATORS)
    )


def core_name(text: str, *, lenient: bool = False) -> str:
    """The identifying words of a council name: abbreviations expanded, designators dropped.

    With ``lenient``, misspelt designators ("concil", "distict") are dropped too.
    """
    expanded = " ".join(_expand(normalise_name(text)))
    expanded = _LONDON_BOROUGH.sub(" ", expanded)
    return " ".join(t for t in expanded.split() if not _is_designator(t, lenient))


def _hints(text: str) -> frozenset[str]:
    words: set[str] = set()
    for token in normalise_name(text).split():
        words.update(_HINTS.get(token, "").split())
    return frozenset(words)


# --- email ---

_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def email_domain(email: str) -> str | None:
    """The lowercased domain of an email address, or None if it does not look like one."""
    text = email.strip().lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :]
    # Slack and mail clients wrap addresses: "<mailto:jo@x.gov.uk|jo@x.gov.uk>", "Jo <jo@x>".
    text = text.strip("<>").split("|")[0]
    if "<" in text:
        text = text.rsplit("<", 1)[1].rstrip(">")
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    domain = domain.strip().rstrip(".")
    if not local or any(ch.isspace() for ch in local) or not _DOMAIN.match(domain):
        return None
    return domain


def _as_domain(text: str) -> str | None:
    """An email's domain, or the text itself when it is a bare domain or website address."""
    text = text.strip().lower()
    if "@" in text:
        return email_domain(text)
    text = re.sub(r"^https?://", "", text).split("/")[0].rstrip(".")
    return text if _DOMAIN.match(text) else None


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


# --- loading ---

# Alternative names are comma-separated, but some names contain ", " ("Bristol, City of"): the
# separators never have a space after them.
_ALT_SEPARATOR = re.compile(r",(?! )")


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _collapse(value: str | None) -> str:
    return " ".join((value or "").split())


def load_reference_councils(path: Path | None = None) -> list[CouncilRecord]:
    """Read the council reference CSV (by default the one shipped in ``bot/data``)."""
    if path is None:
        source = resources.files("bot").joinpath("data/uk-councils.csv")
        text = source.read_text(encoding="utf-8-sig")
    else:
        text = Path(path).read_text(encoding="utf-8-sig")
    records: list[CouncilRecord] = []
    for row in csv.DictReader(text.splitlines()):
        alts: list[str] = []
        for alt in _ALT_SEPARATOR.split(row.get("alt_names") or ""):
            alt = _collapse(alt)
            if alt and alt not in alts:
                alts.append(alt)
        domain = _blank_to_none(row.get("web_domain"))
        records.append(
            CouncilRecord(
                code=_blank_to_none(row.get("code")),
                # The source has stray double and trailing spaces ("North Somerset  Council").
                name=_collapse(row["name"]),
                short_name=_collapse(row.get("short_name")) or _collapse(row["name"]),
                gss_code=_blank_to_none(row.get("gss_code")),
                nation=_blank_to_none(row.get("nation")),
                region=_blank_to_none(row.get("region")),
                type=_blank_to_none(row.get("type")),
                web_domain=domain.lower().removeprefix("www.") if domain else None,
                alt_names=tuple(alts),
            )
        )
    return records


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
        domain = _as_domain(email)
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
        expanded = " ".join(_expand(norm))
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
        hints = _hints(typed)
        if hints:
            scored = [(len(hints & _hints(f"{r.name} {r.type or ''}")), r) for r in found]
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
