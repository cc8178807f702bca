"""A glossary compiled into the engine's token space, and a post's text read as matching terms.

Steps 2, 4 and 5 of reading a post (see ``bot.matching``): acronyms expanded (case-aware, an
ambiguous one by the rest of the post), glossary phrases and synonyms read as their canonical
wording, stopwords dropped and the unigrams, bigrams and trigrams of what is left made terms.
``Glossary`` (``bot.matching.glossary``) holds the rows; ``_compile`` turns them into lookup
tables once per glossary.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from bot.matching.glossary import Glossary
from bot.matching.words import (
    _plain_tokens,
    _raw_words,
    _strip_markup,
    _Token,
    _word_set,
    _word_token,
)


@dataclass(frozen=True, slots=True)
class NormalisedText:
    """A post's text made ready for matching: its terms and a cleaned string for rapidfuzz."""

    terms: frozenset[str]
    cleaned: str
    # Human-readable form of each term, for a Match's reasons.
    display: dict[str, str] = field(hash=False, compare=False)
    # Word tokens after acronym expansion, before synonyms: the index re-runs the later steps
    # when it corrects a typo in one of them.
    tokens: tuple[_Token, ...] = field(hash=False, compare=False, repr=False)
    # Words the post uses only inside a glossary phrase: they give partial credit only, so
    # "information asset register" shares little with "property asset register".
    partial: frozenset[str] = frozenset()


# Ordinary English words that are also acronyms: these acronyms match only in capitals.
_COMMON_WORDS = _word_set(
    """
    it is im in on at as am an be by do go he if me my no of or so to up us we send cop tom co
    pi sen pia dam bat bin cat car man men may sum via aim act art bid tip top spa map rag ram
    """
)


# --- the compiled glossary --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Expansion:
    canonical: tuple[str, ...]  # stems of the canonical phrase
    tokens: tuple[_Token, ...]
    context: frozenset[str]  # content stems that suggest this meaning of an ambiguous acronym


@dataclass(frozen=True, slots=True)
class _Acronym:
    spellings: frozenset[str]  # exact spellings accepted when the acronym is an ordinary word
    case_sensitive: bool
    expansions: tuple[_Expansion, ...]


@dataclass(slots=True)
class _CompiledGlossary:
    acronyms: dict[str, _Acronym]
    # stems of a phrase (any variant or canonical wording) -> canonical tokens
    phrases: dict[tuple[str, ...], tuple[_Token, ...]]
    max_phrase: int
    display: dict[str, str]  # glossary term key -> "information asset register (IAR)"
    concepts: frozenset[str]  # one-word canonical terms ("induction", "sharepoint")
    vocabulary: frozenset[str]  # every content stem the glossary knows, for typo correction
    # First stems of the phrases: most words start none, so they skip the phrase lookups.
    starts: frozenset[str] = frozenset()


def _phrase_key(stems: Iterable[str]) -> str:
    return "g:" + "_".join(stems)


@lru_cache(maxsize=16)
def _compile(glossary: Glossary) -> _CompiledGlossary:
    """Turn glossary rows into lookup tables in the engine's own token space."""
    # Canonical wording: follow synonym chains (a -> b -> c) to the end, guarding against loops.
    synonym_of: dict[tuple[str, ...], str] = {}
    for row in glossary.synonyms():
        key = tuple(t.stem for t in _plain_tokens(row.term))
        if key:
            synonym_of[key] = row.expansion

    def canonical_text(text: str) -> str:
        seen: set[tuple[str, ...]] = set()
        key = tuple(t.stem for t in _plain_tokens(text))
        while key in synonym_of and key not in seen:
            seen.add(key)
            text = synonym_of[key]
            key = tuple(t.stem for t in _plain_tokens(text))
        return text

    phrases: dict[tuple[str, ...], tuple[_Token, ...]] = {}
    display: dict[str, str] = {}
    vocabulary: set[str] = set()

    def add_phrase(variant: str, canonical: str) -> tuple[_Token, ...]:
        canon_tokens = tuple(_plain_tokens(canonical))
        variant_key = tuple(t.stem for t in _plain_tokens(variant))
        canon_key = tuple(t.stem for t in canon_tokens)
        if variant_key:
            phrases.setdefault(variant_key, canon_tokens)
        if canon_key:
            phrases.setdefault(canon_key, canon_tokens)
            display.setdefault(_phrase_key(canon_key), canonical)
        vocabulary.update(t.stem for t in canon_tokens if not t.stop)
        vocabulary.update(t.stem for t in _plain_tokens(variant) if not t.stop)
        return canon_tokens

    for row in glossary.synonyms():
        add_phrase(row.term, canonical_text(row.expansion))

    grouped: dict[str, list[tuple[str, str]]] = {}
    for row in glossary.acronyms():
        grouped.setdefault(row.term.lower(), []).append((row.term, row.expansion))
    acronyms: dict[str, _Acronym] = {}
    for lower, rows in grouped.items():
        expansions = []
        for term, expansion in rows:
            canonical = canonical_text(expansion)
            canon_tokens = add_phrase(expansion, canonical)
            phrase = _phrase_key(t.stem for t in canon_tokens)
            # Show the first acronym beside its phrase: "information asset register (IAR)".
            if display.get(phrase) == canonical and len(canon_tokens) > 1:
                display[phrase] = f"{canonical} ({term})"
            context = frozenset(
                t.stem for t in _plain_tokens(f"{expansion} {canonical}") if not t.stop
            )
            expansions.append(
                _Expansion(tuple(t.stem for t in canon_tokens), canon_tokens, context)
            )
        spellings = frozenset(s for term, _ in rows for s in (term, term.upper()))
        acronyms[lower] = _Acronym(spellings, lower in _COMMON_WORDS, tuple(expansions))
    max_phrase = max((len(k) for k in phrases), default=1)
    concepts = frozenset(c[0].stem for c in phrases.values() if len(c) == 1 and not c[0].stop)
    starts = frozenset(k[0] for k in phrases)
    return _CompiledGlossary(
        acronyms, phrases, max_phrase, display, concepts, frozenset(vocabulary), starts
    )


# --- a post's terms ---------------------------------------------------------------------------


def _find_acronym(word: str, compiled: _CompiledGlossary) -> _Acronym | None:
    """The acronym a raw word spells, if any (accepting a plural such as "DSARs")."""
    for candidate, plural in ((word, False), (word[:-1], True)):
        if plural and not (word.endswith("s") and len(word) > 2 and candidate[:1].isupper()):
            continue
        acronym = compiled.acronyms.get(candidate.lower())
        if acronym is None:
            continue
        if acronym.case_sensitive and candidate not in acronym.spellings:
            continue
        if plural and not any(c.isupper() for c in candidate[1:]):
            continue  # "Bis" is not the plural of BI
        return acronym
    return None


def _word_tokens(text: str, compiled: _CompiledGlossary) -> list[_Token]:
    """Stage one: markup out, acronyms expanded, words stemmed (stopwords still marked)."""
    words = _raw_words(_strip_markup(text))
    plain: list[_Token | None] = []
    found: list[tuple[int, _Acronym]] = []
    acronyms = compiled.acronyms
    for i, word in enumerate(words):
        lower = word.lower()
        # Most words are no acronym, singular or plural: two lookups decide it.
        if lower in acronyms or lower[:-1] in acronyms:
            acronym = _find_acronym(word, compiled)
            if acronym is not None:
                plain.append(None)
                found.append((i, acronym))
                continue
        plain.append(_word_token(lower))
    if not found:
        return [t for t in plain if t is not None]
    context = {t.stem for t in plain if t is not None and not t.stop}
    chosen: dict[int, _Expansion] = {}
    for i, acronym in found:
        expansion = acronym.expansions[0]
        if len(acronym.expansions) > 1:
            # An ambiguous acronym takes the meaning whose words the rest of the post uses.
            best = max(len(e.context & context) for e in acronym.expansions)
            if best:
                expansion = next(e for e in acronym.expansions if len(e.context & context) == best)
        chosen[i] = expansion
    tokens: list[_Token] = []
    for i, token in enumerate(plain):
        if token is None:
            tokens.extend(chosen[i].tokens)
        else:
            tokens.append(token)
    return tokens


def _canonicalise(tokens: Iterable[_Token], compiled: _CompiledGlossary) -> list[_Unit]:
    """Stage two: read glossary phrases as their canonical wording (longest match first).

    A glossary phrase becomes one unit, so "information asset register" never shares the
    bigram "asset register" with "property asset register": only its single words overlap.
    """
    seq = list(tokens)
    stems = [t.stem for t in seq]
    units: list[_Unit] = []
    starts = compiled.starts
    i = 0
    while i < len(seq):
        if stems[i] not in starts:
            # No glossary phrase starts with this word: the common case, decided in one lookup.
            token = seq[i]
            if not token.stop and len(token.stem) > 1 and not token.stem.isdigit():
                units.append(_Unit(token.stem, token.surface, (token,)))
            i += 1
            continue
        for n in range(min(compiled.max_phrase, len(seq) - i), 0, -1):
            canon = compiled.phrases.get(tuple(stems[i : i + n]))
            if canon is not None:
                content = tuple(_content(canon))
                if len(content) > 1:
                    key = _phrase_key(t.stem for t in canon)
                    surface = compiled.display.get(key, " ".join(t.surface for t in canon))
                    units.append(_Unit(key, surface, content))
                elif content:
                    units.append(_Unit(content[0].stem, content[0].surface, content))
                i += n
                break
        else:
            token = seq[i]
            if _content((token,)):
                units.append(_Unit(token.stem, token.surface, (token,)))
            i += 1
    return units


@dataclass(frozen=True, slots=True)
class _Unit:
    key: str  # a stem, or "g:" and the stems of a glossary phrase joined by "_"
    surface: str
    words: tuple[_Token, ...]


def _content(tokens: Iterable[_Token]) -> list[_Token]:
    return [t for t in tokens if not t.stop and len(t.stem) > 1 and not t.stem.isdigit()]


_NO_WORDS: frozenset[str] = frozenset()


def _build(
    tokens: Iterable[_Token], compiled: _CompiledGlossary, *, with_display: bool = True
) -> tuple[frozenset[str], str, dict[str, str], frozenset[str]]:
    """Terms, cleaned text, display forms and partial-credit words from stage-one tokens.

    The index builds display forms only for the few posts whose reasons it shows: keeping them
    for every indexed post would cost more memory than the terms themselves.
    """
    units = _canonicalise(tokens, compiled)
    terms: set[str] = set()
    display: dict[str, str] = {}
    inside: set[str] = set()
    for unit in units:
        if unit.key.startswith("g:"):
            # A glossary phrase's own words still count singly, for partial credit.
            for word in unit.words:
                terms.add(word.stem)
                inside.add(word.stem)
                if with_display:
                    display.setdefault(word.stem, word.surface)
    keys = [u.key for u in units]
    terms.update(keys)
    if with_display:
        for u in units:
            display.setdefault(u.key, u.surface)
    for n in (2, 3):
        for i in range(len(units) - n + 1):
            gram = keys[i : i + n]
            if len(set(gram)) < n:
                continue  # "induction induction" after a synonym says nothing new
            key = " ".join(gram)
            terms.add(key)
            if with_display:
                display.setdefault(key, " ".join(u.surface for u in units[i : i + n]))
    # rapidfuzz sees a glossary phrase as one token, so "information asset register" and
    # "property asset register" do not look alike to it either.
    cleaned = " ".join(u.key for u in units)
    outside = inside - set(keys)
    partial = frozenset(outside) if outside else _NO_WORDS
    return frozenset(terms), cleaned, display, partial


def normalise(text: str, glossary: Glossary | None = None) -> NormalisedText:
    """Turn a post's text into matching terms and a cleaned string (computed once per post)."""
    compiled = _compile(glossary if glossary is not None else Glossary.default())
    tokens = _word_tokens(text, compiled)
    terms, cleaned, display, partial = _build(tokens, compiled)
    return NormalisedText(terms, cleaned, display, tuple(tokens), partial)
