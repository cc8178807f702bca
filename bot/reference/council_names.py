"""Council names: normalising them, their identifying core, email domains, the reference list.

Pure: reads the shipped reference CSV, knows nothing of the database or Slack. The directory that
resolves what people type is ``bot.reference.councils``.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rapidfuzz.distance import OSA

__all__ = [
    "CouncilRecord",
    "Resolution",
    "as_domain",
    "core_name",
    "display_name",
    "email_domain",
    "expand_abbreviations",
    "load_reference_councils",
    "normalise_name",
    "type_hints",
]


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


def expand_abbreviations(norm: str) -> list[str]:
    """The normalised words with nicknames and abbreviations expanded ("notts" -> ...)."""
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
    expanded = " ".join(expand_abbreviations(normalise_name(text)))
    expanded = _LONDON_BOROUGH.sub(" ", expanded)
    return " ".join(t for t in expanded.split() if not _is_designator(t, lenient))


def type_hints(text: str) -> frozenset[str]:
    """The kinds of council the words of a name hint at ("CC" -> county, city)."""
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


def as_domain(text: str) -> str | None:
    """An email's domain, or the text itself when it is a bare domain or website address."""
    text = text.strip().lower()
    if "@" in text:
        return email_domain(text)
    text = re.sub(r"^https?://", "", text).split("/")[0].rstrip(".")
    return text if _DOMAIN.match(text) else None


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
