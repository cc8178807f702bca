"""The Glossary: acronyms and synonyms the matching engine understands.

The glossary is a CSV file (``bot/data/glossary.csv``) with the columns ``term,expansion,kind``.
CSV cannot hold comments, so its semantics live here:

``acronym``
    ``term`` is an abbreviation that stands for ``expansion`` (``IAR,information asset
    register``). When a post contains the acronym, the engine reads the expansion instead, so
    "IAR" meets "information asset register". An acronym may have several rows (``SAR`` is a
    subject access request or a safeguarding adults review); the engine picks the expansion whose
    words appear elsewhere in the post, else the first row. Acronyms match in any case, except
    those that spell an ordinary English word (``IT``, ``SEND``, ``CoP``, ``TOM``), which match only
    as written in the CSV or in capitals, so "it" and "send" stay ordinary words.

``synonym``
    ``term`` is another way of saying ``expansion``, which is the preferred (canonical) wording.
    Rows sharing an expansion form a synonym group: ``lessons learnt``, ``after action review``
    and ``retrospective`` all read as ``lessons learned``. A synonym's expansion may itself be an
    acronym's expansion, so groups and acronyms meet. Matching is on whole words after light
    stemming, so plurals and British/American spellings need no rows of their own.

Facilitators extend the glossary by adding rows; ``Glossary.merged`` builds a new glossary with
their rows on top of the shipped ones (a facilitator's row wins where it repeats a term).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

KINDS = ("acronym", "synonym")


class GlossaryError(ValueError):
    """A glossary row is malformed (unknown kind, empty term or expansion)."""


@dataclass(frozen=True, slots=True)
class GlossaryRow:
    """One glossary entry: ``term`` means ``expansion``; ``kind`` is ``acronym`` or ``synonym``."""

    term: str
    expansion: str
    kind: str


RowLike = GlossaryRow | Mapping[str, str] | tuple[str, str, str]


def _row(value: RowLike) -> GlossaryRow:
    """Coerce a mapping, a 3-tuple or a GlossaryRow into a validated GlossaryRow."""
    if isinstance(value, GlossaryRow):
        term, expansion, kind = value.term, value.expansion, value.kind
    elif isinstance(value, Mapping):
        term = value.get("term") or ""
        expansion = value.get("expansion") or ""
        kind = value.get("kind") or ""
    else:
        term, expansion, kind = value
    term, expansion, kind = term.strip(), expansion.strip(), kind.strip().lower()
    if not term or not expansion:
        raise GlossaryError(f"glossary row needs a term and an expansion: {value!r}")
    if kind not in KINDS:
        raise GlossaryError(f"glossary kind must be 'acronym' or 'synonym', not {kind!r}")
    return GlossaryRow(term, expansion, kind)


@dataclass(frozen=True, slots=True)
class Glossary:
    """An immutable set of acronym and synonym rows; hashable so compiled forms can be cached."""

    rows: tuple[GlossaryRow, ...]

    @classmethod
    def from_rows(cls, rows: Iterable[RowLike]) -> Glossary:
        """Build a glossary from rows (GlossaryRow, mappings or (term, expansion, kind) tuples)."""
        return cls(tuple(_row(r) for r in rows))

    @classmethod
    def from_csv(cls, path: str | Path) -> Glossary:
        """Load a glossary from a ``term,expansion,kind`` CSV file."""
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return cls.from_rows(csv.DictReader(handle))

    @classmethod
    def default(cls) -> Glossary:
        """Return the shipped glossary (loaded once, then cached)."""
        return _default_glossary()

    def merged(self, extra_rows: Iterable[RowLike]) -> Glossary:
        """Return a new glossary with ``extra_rows`` added; an added row replaces the same term."""
        extra = [_row(r) for r in extra_rows]
        # A facilitator's row for a term replaces the shipped rows of that term and kind, so a
        # local meaning (say, a council's own acronym) is not diluted by a national one.
        replaced = {(r.term.lower(), r.kind) for r in extra}
        kept = [r for r in self.rows if (r.term.lower(), r.kind) not in replaced]
        return Glossary(tuple(kept + extra))

    def __len__(self) -> int:
        return len(self.rows)

    def acronyms(self) -> list[GlossaryRow]:
        """The acronym rows, in file order."""
        return [r for r in self.rows if r.kind == "acronym"]

    def synonyms(self) -> list[GlossaryRow]:
        """The synonym rows, in file order."""
        return [r for r in self.rows if r.kind == "synonym"]


@lru_cache(maxsize=1)
def _default_glossary() -> Glossary:
    text = resources.files("bot").joinpath("data/glossary.csv").read_text(encoding="utf-8-sig")
    return Glossary.from_rows(csv.DictReader(io.StringIO(text)))
