"""The matching engine: which open Wants and Offers should meet.

A pure module: no database, no Slack, no environment. Storage hands it ``PostForMatching``
values; services decide what to do with the ``Match`` values it returns.

How a post becomes terms (``normalise``):

1. Slack markup goes (mentions, link targets, ``*bold*``); Unicode is NFKC-folded.
2. Glossary acronyms are expanded into their canonical phrase, case-aware (``IT`` but not "it").
3. Words are lower-cased, American spellings read as British, lightly stemmed.
4. Glossary phrases and synonyms are read as their canonical wording ("lessons learnt",
   "after action review" -> "lessons learned"); each glossary phrase found is also a term.
5. Stopwords (including the filler council staff write in every post: "looking for", "happy to
   share", "anyone") are dropped; unigrams, bigrams and trigrams of what is left are terms.

How two posts score (``MatchIndex``): terms are weighted by IDF over the index's own posts,
smoothed with a background prior from the Local Government Services List, phrases weigh more
than words. The score blends the weighted cosine of the shared terms with rapidfuzz's
``token_set_ratio`` of the cleaned texts, so wording that the terms miss still counts a little.
Unknown words of five letters or more that are a typo away from a known word count as that word.

Candidates come from an inverted index, never a scan: very common terms are skipped and only the
best few hundred candidates by cheap overlap are scored in full.
"""

from __future__ import annotations

import heapq
import html
import json
import math
import re
import sys
import unicodedata
from array import array
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from operator import neg

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.matching.glossary import Glossary

__all__ = [
    "DEFAULT_CANDIDATE_THRESHOLD",
    "DEFAULT_INTRO_THRESHOLD",
    "DEFAULT_MAX_INTROS",
    "DEFAULT_RUNNER_UP_GAP",
    "Match",
    "MatchIndex",
    "NormalisedText",
    "PostForMatching",
    "normalise",
    "score_pair",
]

# Tuned on bench/eval (run bench/eval_matching.py); see the report there.
DEFAULT_INTRO_THRESHOLD: int = 36
DEFAULT_CANDIDATE_THRESHOLD: int = 22
DEFAULT_MAX_INTROS: int = 3
# all_matches does not introduce a match scoring this far below the best match of either of its
# posts: the facilitator's instinct to make the strong introductions, not every one over the
# line (weaker ones stay candidates for the poster). On the evaluation set: F1 0.84 -> 0.95.
DEFAULT_RUNNER_UP_GAP: int = 25

KINDS = ("want", "offer")

# Scoring knobs, tuned on the evaluation set.
_PHRASE_BOOST = {1: 1.0, 2: 1.6, 3: 2.0}
_GLOSSARY_PHRASE_BOOST = 2.0
_GLOSSARY_CONCEPT_BOOST = 1.0
_TERM_SHARE = 0.85  # the rest of the score is rapidfuzz's token_set_ratio
_SIZE_DAMPING = 0.15  # 0: raw shared weight; 0.5: cosine. Cosine lost wordy posts' matches.
_SATURATION = 6.0
_AREA_BONUS = 4  # same knowledge area: a little context, never a match on its own
_MAX_REASONS = 4
# Words that name the kind of thing shared (a template, a policy) rather than what it is about:
# facilitators match on the subject, so these count for less.
_GENERIC_FACTOR = 0.4
_PARTIAL_FACTOR = 0.5  # a word shared only as part of a glossary phrase

# IDF prior: the background corpus counts as this many pseudo-posts. Large enough that a young
# store weighs "service" as common and "gazetteer" as rare; small enough that a store of a few
# thousand posts is weighted mostly by its own vocabulary.
_PRIOR_POSTS = 150.0

# Candidate generation limits, for a store of 100,000 open posts.
_MAX_CANDIDATES = 200
_COMMON_TERM_FRACTION = 0.05
_COMMON_TERM_MIN = 500

# Typo tolerance.
_TYPO_MIN_LENGTH = 5
_TYPO_MIN_RATIO = 85.0


@dataclass(frozen=True, slots=True)
class PostForMatching:
    """An open Want or Offer as the matching engine sees it."""

    id: int
    kind: str  # "want" or "offer"
    council_id: int
    text: str
    area: str | None = None  # knowledge area code: "IM", "CF", "CO", "OL" or None


@dataclass(frozen=True, slots=True)
class Match:
    """A Want and an Offer that should meet, with a 0..100 score and the shared terms why."""

    want_id: int
    offer_id: int
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Token:
    stem: str
    surface: str
    stop: bool


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


# --- text processing -------------------------------------------------------------------------


def _word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of a block of text (keeps long word lists readable)."""
    return frozenset(text.split())


_STOPWORDS = _word_set(
    """
    a about above across actually after again against all almost also although always am among an
    and another any anybody anyone anything anywhere are around as ask asked at available away be
    because been before being below best between both but by can cannot could currently did do
    does doing done dont down during each either else etc ever every everyone example examples
    experience few find for from further get getting give go going good got great had happy has
    have having he her here hers hi him his how however i idea ideas if im in interested into is
    isnt it its itself just keen know lets like likely look looking lot lots love many may me
    might more most much must my myself need needed needing new next no nobody none nor not
    nothing now of off offer offering often ok on once one only or other others otherwise ought our
    ours ourselves out over own part particular particularly people perhaps please pointer
    pointers possible probably properly quite rather re really recently same see seen seeking
    share shared sharing she should show since so some somebody someone something sort still such
    sure take talk tell than thank thanks that thats the their theirs them themselves then there
    these they thing things think this those though through thus tip tips to too toward towards
    try trying under until up upon us use used useful using very via want wanted wanting wants
    was way ways we well were what whatever when where whether which while who whom whose why
    will willing wish with within without wonder wondering work worked would yes yet you your
    yours council councils authority authorities borough county city la las local hello help
    helping advice approach
    """
)

# Ordinary English words that are also acronyms: these acronyms match only in capitals.
_COMMON_WORDS = _word_set(
    """
    it is im in on at as am an be by do go he if me my no of or so to up us we send cop tom co
    pi sen pia dam bat bin cat car man men may sum via aim act art bid tip top spa map rag ram
    """
)

_US_TO_UK = {
    "center": "centre",
    "centers": "centres",
    "color": "colour",
    "behavior": "behaviour",
    "favor": "favour",
    "labor": "labour",
    "program": "programme",
    "programs": "programmes",
    "catalog": "catalogue",
    "defense": "defence",
    "enrollment": "enrolment",
    "fulfill": "fulfil",
    "judgment": "judgement",
    "modeling": "modelling",
    "traveling": "travelling",
    "canceled": "cancelled",
    "labeled": "labelled",
    "license": "licence",
    "analyze": "analyse",
    "analyzing": "analysing",
    "analyzed": "analysed",
    "learnt": "learned",
    "spelt": "spelled",
}
_IZE = re.compile(r"^(\w{3,})iz(e|es|ed|ing|ation|ations|er|ers)$")
_YZE = re.compile(r"^(\w{2,})yz(e|es|ed|ing)$")

_SLACK_USER_OR_CHANNEL = re.compile(r"<[@#!][^>]*>")
_SLACK_LINK_WITH_LABEL = re.compile(r"<(?:https?|mailto):[^|>]*\|([^>]*)>")
_SLACK_BARE_LINK = re.compile(r"<(?:https?|mailto):[^>]*>")
_BARE_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[^\W_]+(?:[&'][^\W_]+)*")


def _british(word: str) -> str:
    """Read an American spelling as British (organization -> organisation)."""
    if word in _US_TO_UK:
        return _US_TO_UK[word]
    m = _IZE.match(word)
    if m and m.group(1) not in {"citi", "pr", "se"}:
        return f"{m.group(1)}is{m.group(2)}"
    m = _YZE.match(word)
    if m:
        return f"{m.group(1)}ys{m.group(2)}"
    return word


_NO_UNDOUBLE = frozenset("lsz")
_KEEP_EE = frozenset({"committee", "guarantee", "referee", "employee", "licensee"})


def _stem(word: str) -> str:
    """A light, predictable stemmer: plurals, -ing, -ed and a final -e.

    Deliberately weaker than Porter: both sides of a match go through the same steps, so it
    only has to be consistent, and it must not merge words such as "policy" and "police".
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ee", "ees")) and len(word) >= 7 and word.rstrip("s") not in _KEEP_EE:
        word = word.rstrip("s")[:-2]  # retiree -> retir, as retiring; trainee -> train
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) >= 7:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) >= 6:
        word = _undouble(word[:-2])
    if word.endswith("e") and len(word) >= 5:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in _NO_UNDOUBLE:
        return word[:-1]
    return word


@lru_cache(maxsize=65536)
def _stem_word(lower: str) -> str:
    return _stem(_british(lower))


_GENERIC = frozenset(
    _stem(w)
    for w in _word_set(
        """
    template templates guidance guide policy policies toolkit strategy plan plans process
    processes framework method methods programme project projects team teams staff officer
    officers resident residents service services system systems report reports form forms
    document documents model tool tools data information material materials
    """
    )
)


@lru_cache(maxsize=65536)
def _word_token(lower: str) -> _Token:
    """A lower-cased word's token (tokens are immutable, so posts share them)."""
    return _Token(_stem_word(lower), lower, lower in _STOPWORDS)


def _strip_markup(text: str) -> str:
    """Remove Slack markup and URLs, keeping link labels."""
    text = unicodedata.normalize("NFKC", text)
    text = _SLACK_USER_OR_CHANNEL.sub(" ", text)
    text = _SLACK_LINK_WITH_LABEL.sub(r" \1 ", text)
    text = _SLACK_BARE_LINK.sub(" ", text)
    text = _BARE_URL.sub(" ", text)
    # Slack escapes these three; unescape so "L&amp;D" reads as "L&D".
    text = html.unescape(text) if "&" in text else text
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _raw_words(text: str) -> list[str]:
    """Split cleaned text into words, dropping possessives and inner apostrophes."""
    words = []
    for word in _WORD.findall(text):
        if "'" in word:
            if word.lower().endswith("'s"):
                word = word[:-2]
            word = word.replace("'", "")
        if word:
            words.append(word)
    return words


def _plain_tokens(text: str) -> list[_Token]:
    """Tokens of glossary text: no acronym expansion, no markup."""
    tokens = []
    for word in _raw_words(_strip_markup(text)):
        lower = word.lower()
        tokens.append(_word_token(lower))
    return tokens


# --- the compiled glossary -------------------------------------------------------------------


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


_NO_FIXES: tuple[tuple[int, _Token], ...] = ()


# --- background prior ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Background:
    documents: int
    probability: dict[str, float]  # stem -> share of background documents using it


@lru_cache(maxsize=1)
def _background() -> _Background:
    """The LGSL word frequencies, stemmed like post text (see bench/make_background_df.py)."""
    try:
        raw = resources.files("bot").joinpath("data/background_df.json").read_text("utf-8")
    except FileNotFoundError:
        return _Background(1, {})
    payload = json.loads(raw)
    documents = max(int(payload["documents"]), 1)
    df: dict[str, int] = {}
    for word, count in payload["df"].items():
        stem = _stem_word(word)
        df[stem] = max(df.get(stem, 0), int(count))
    return _Background(documents, {s: c / documents for s, c in df.items()})


# --- the index -------------------------------------------------------------------------------

# A term's postings: the one post that uses it (most phrases are used once), or a compact array
# of post ids. A bare id or an array instead of a set saves about 200 bytes for each rare term and
# three quarters of the memory of a common one; candidate generation only iterates postings.
_Ids = int | array


def _size(ids: _Ids | None) -> int:
    if ids is None:
        return 0
    return 1 if type(ids) is int else len(ids)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Entry:
    post: PostForMatching
    # Every term, words first; the strings are shared with the index's postings.
    terms: tuple[str, ...]
    words: int  # how many of ``terms`` are single words (they measure the post's size)
    partial: frozenset[str]
    # Typo corrections made when the post was indexed (token position, corrected token), so
    # its display forms can be rebuilt exactly when a match shows them.
    fixes: tuple[tuple[int, _Token], ...] = ()
    # The post's size (sum of its words' weights) and the index generation it was computed at.
    total: float = 0.0
    generation: int = -1


class MatchIndex:
    """An in-memory index of open posts, with an inverted index over weighted terms.

    Not thread-safe: ``bot.live_index.MarketMatcher`` serialises access for the web app.
    """

    def __init__(self, glossary: Glossary | None = None) -> None:
        self._glossary = glossary if glossary is not None else Glossary.default()
        self._compiled = _compile(self._glossary)
        self._entries: dict[int, _Entry] = {}
        self._postings: dict[str, dict[str, _Ids]] = {kind: {} for kind in KINDS}
        # Bumped on every change: term weights (IDF) and cached post sizes depend on the counts.
        self._generation = 0
        self._weights: dict[str, float] = {}
        # Per-term constants (phrase boost and the like, smoothing prior), kept across changes.
        self._static: dict[str, tuple[float, float]] = {}
        self._words_by_initial: dict[str, list[str]] | None = None

    # -- maintenance --

    def add(self, post: PostForMatching) -> None:
        """Add a post to the index, replacing any post with the same id."""
        if post.kind not in KINDS:
            raise ValueError(f"post kind must be 'want' or 'offer', not {post.kind!r}")
        self.remove(post.id)
        entry = self._prepare(post)
        self._entries[post.id] = entry
        postings = self._postings[post.kind]
        other = self._postings["offer" if post.kind == "want" else "want"]
        pid = post.id
        for term in entry.terms:
            ids = postings.get(term)
            if ids is None:
                postings[term] = pid
                if " " not in term and term not in other and self._words_by_initial is not None:
                    self._words_by_initial = None  # a new word: rebuild the typo lists lazily
            elif type(ids) is int:
                postings[term] = array("q", (ids, pid))
            else:
                ids.append(pid)  # type: ignore[union-attr]
        self._changed()

    def remove(self, post_id: int) -> None:
        """Take a post out of the index; no error if it is not there."""
        entry = self._entries.pop(post_id, None)
        if entry is None:
            return
        postings = self._postings[entry.post.kind]
        other = self._postings["offer" if entry.post.kind == "want" else "want"]
        for term in entry.terms:
            ids = postings.get(term)
            if ids is None:
                continue
            if type(ids) is int:
                if ids != post_id:
                    continue
                del postings[term]
                if " " not in term and term not in other:
                    self._words_by_initial = None
            else:
                try:
                    ids.remove(post_id)  # type: ignore[union-attr]
                except ValueError:
                    continue
                if len(ids) == 1:  # type: ignore[arg-type]
                    postings[term] = ids[0]  # type: ignore[index]
        self._changed()

    def _changed(self) -> None:
        self._generation += 1
        self._weights.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._entries

    # -- matching --

    def matches_for(
        self,
        post: PostForMatching,
        *,
        threshold: int = DEFAULT_INTRO_THRESHOLD,
        limit: int = DEFAULT_MAX_INTROS,
        already_introduced: Collection[tuple[int, int]] = (),
    ) -> list[Match]:
        """The best matches for one post among indexed posts of the other kind, best first."""
        if limit <= 0:
            return []
        entry = self._entry_for(post)
        introduced = (
            already_introduced
            if isinstance(already_introduced, set | frozenset)
            else (set(already_introduced))
        )
        mine = frozenset(entry.terms)
        cleaned = _cleaned(entry)
        entries = self._entries
        passed: list[tuple[int, tuple[int, int], _Entry, list[str]]] = []
        for candidate_id in self._candidates(entry):
            other = entries[candidate_id]
            if other.post.council_id == post.council_id or other.post.id == post.id:
                continue
            pair = _pair(post, other.post)
            if pair in introduced:
                continue
            score, shared = self._score_value(entry, mine, cleaned, other)
            if score >= threshold and shared:
                passed.append((score, pair, other, shared))
        # Reasons cost a re-normalisation: name them only for the matches returned.
        side = 1 if post.kind == "want" else 0
        passed.sort(key=lambda p: (-p[0], p[1][side]))
        matches = []
        for score, pair, other, shared in passed[:limit]:
            want, offer = (entry, other) if post.kind == "want" else (other, entry)
            reasons = self._reasons(frozenset(shared), want, offer)
            if reasons:
                matches.append(Match(pair[0], pair[1], score, reasons))
        return matches

    def all_matches(
        self,
        *,
        threshold: int = DEFAULT_INTRO_THRESHOLD,
        max_per_post: int = DEFAULT_MAX_INTROS,
        already_introduced: Collection[tuple[int, int]] = (),
        runner_up_gap: int | None = DEFAULT_RUNNER_UP_GAP,
    ) -> list[Match]:
        """The introductions the bot would make over the whole index, greedily by score."""
        introduced = set(already_introduced)
        found: dict[tuple[int, int], Match] = {}
        wants = sorted(i for i, e in self._entries.items() if e.post.kind == "want")
        for want_id in wants:
            entry = self._entries[want_id]
            # Ask for more than max_per_post: an offer may be taken by a better want.
            for match in self.matches_for(
                entry.post,
                threshold=threshold,
                limit=max(4 * max_per_post, 12),
                already_introduced=introduced,
            ):
                found[(match.want_id, match.offer_id)] = match
        ordered = sorted(found.values(), key=lambda m: (-m.score, m.want_id, m.offer_id))
        if runner_up_gap is not None:
            best: dict[tuple[str, int], int] = {}
            for m in ordered:  # best first, so setdefault keeps each post's best score
                best.setdefault(("want", m.want_id), m.score)
                best.setdefault(("offer", m.offer_id), m.score)
            ordered = [
                m
                for m in ordered
                if m.score >= best[("want", m.want_id)] - runner_up_gap
                and m.score >= best[("offer", m.offer_id)] - runner_up_gap
            ]
        used: dict[tuple[str, int], int] = {}
        chosen = []
        for match in ordered:
            want_key, offer_key = ("want", match.want_id), ("offer", match.offer_id)
            if used.get(want_key, 0) >= max_per_post or used.get(offer_key, 0) >= max_per_post:
                continue
            used[want_key] = used.get(want_key, 0) + 1
            used[offer_key] = used.get(offer_key, 0) + 1
            chosen.append(match)
        return chosen

    # -- internals --

    def _entry_for(self, post: PostForMatching) -> _Entry:
        existing = self._entries.get(post.id)
        if existing is not None and existing.post == post:
            return existing
        return self._prepare(post)

    def _prepare(self, post: PostForMatching) -> _Entry:
        """Normalise a post and correct its typos against the index's vocabulary."""
        compiled = self._compiled
        tokens = _word_tokens(post.text, compiled)
        fixes = []
        for i, token in enumerate(tokens):
            fixed = self._correct(token)
            if fixed is not None:
                tokens[i] = fixed
                fixes.append((i, fixed))
        terms, _cleaned, _display, partial = _build(tokens, compiled, with_display=False)
        # Share one string per term across posts (most n-grams recur): a large memory saving.
        words = sorted(sys.intern(t) for t in terms if " " not in t)
        phrases = sorted(sys.intern(t) for t in terms if " " in t)
        return _Entry(
            post,
            tuple(words + phrases),
            len(words),
            partial,
            tuple(fixes) if fixes else _NO_FIXES,
        )

    def _display(self, entry: _Entry) -> dict[str, str]:
        """Human-readable forms of an entry's terms, rebuilt from its text and typo fixes."""
        tokens = _word_tokens(entry.post.text, self._compiled)
        for i, token in entry.fixes:
            tokens[i] = token
        return _build(tokens, self._compiled)[2]

    def _df(self, term: str) -> int:
        """How many indexed posts, of either kind, use a term."""
        return _size(self._postings["want"].get(term)) + _size(self._postings["offer"].get(term))

    def _known(self, stem: str) -> bool:
        return (
            stem in self._postings["want"]
            or stem in self._postings["offer"]
            or stem in self._compiled.vocabulary
            or stem in _background().probability
        )

    def _correct(self, token: _Token) -> _Token | None:
        """The known word an unknown word is a typo of, if it is close enough."""
        stem = token.stem
        if token.stop or len(stem) < _TYPO_MIN_LENGTH or not stem.isalpha() or self._known(stem):
            return None
        words = self._typo_words().get(stem[0])
        if not words:
            return None
        close = process.extract(
            stem, words, scorer=fuzz.ratio, score_cutoff=_TYPO_MIN_RATIO, limit=8
        )
        # One edit for short words, two for long: "registar" -> "register", not "regional".
        budget = 1 if len(stem) < 8 else 2
        options = [
            (
                Levenshtein.distance(stem, word),
                word not in self._compiled.vocabulary,
                -self._df(word),
                -ratio,
                word,
            )
            for word, ratio, _ in close
        ]
        options = [o for o in options if o[0] <= budget]
        if not options:
            return None
        # Fewest edits first; on a tie, the glossary's word ("register", not "registrar"),
        # then the word more posts use.
        target = min(options)[4]
        return _Token(target, target, False)

    def _typo_words(self) -> dict[str, list[str]]:
        """Trusted words grouped by first letter (typos rarely change the first letter).

        Trusted: the glossary's words, words in at least two posts, and background words in at
        least three LGSL entries. A word seen once may itself be a typo, and a rare background
        word ("lever") is a worse guess than leaving an unknown word ("leaver") alone.
        """
        if self._words_by_initial is None:
            background = _background()
            common = 3 / background.documents
            wants, offers = self._postings["want"], self._postings["offer"]
            words = {
                t
                for postings in (wants, offers)
                for t in postings
                if " " not in t and self._df(t) >= 2
            }
            words |= self._compiled.vocabulary
            words |= {w for w, p in background.probability.items() if p >= common}
            grouped: dict[str, list[str]] = {}
            for word in sorted(words):
                if word.isalpha() and len(word) >= _TYPO_MIN_LENGTH - 1:
                    grouped.setdefault(word[0], []).append(word)
            self._words_by_initial = grouped
        return self._words_by_initial

    def _term_static(self, term: str) -> tuple[float, float]:
        """A term's constants: its boost (phrase, glossary, generic) and its smoothing count."""
        static = self._static.get(term)
        if static is not None:
            return static
        background = _background()
        floor = 0.5 / background.documents
        units = term.split(" ")
        prior = min(
            floor if u.startswith("g:") else background.probability.get(u, floor) for u in units
        )
        if len(units) > 1:
            # A phrase is rarer than its rarest word.
            prior = max(prior * 0.1, floor)
        boost = _PHRASE_BOOST.get(len(units), 2.0)
        if len(units) == 1 and term.startswith("g:"):
            boost *= _GLOSSARY_PHRASE_BOOST
        elif len(units) == 1 and term in self._compiled.concepts:
            # A word the glossary names as a concept ("onboarding" means "induction") is
            # known to be the subject of a post, not a passing word.
            boost *= _GLOSSARY_CONCEPT_BOOST
        if all(u in _GENERIC for u in units):
            boost *= _GENERIC_FACTOR
        static = (boost, _PRIOR_POSTS * prior + 0.5)
        if len(self._static) > 500_000:
            self._static.clear()  # a bound, for a long-lived process with a changing vocabulary
        self._static[term] = static
        return static

    def _weight(self, term: str) -> float:
        """A term's weight: IDF, more for phrases and glossary phrases, less for generic words."""
        weight = self._weights.get(term)
        if weight is None:
            boost, smoothing = self._term_static(term)
            n = len(self._entries)
            df = _size(self._postings["want"].get(term)) + _size(self._postings["offer"].get(term))
            idf = max(math.log((n + _PRIOR_POSTS + 1.0) / (df + smoothing)), 0.0)
            weight = self._weights[term] = idf * boost
        return weight

    def _total(self, entry: _Entry) -> float:
        """A post's size: the summed weight of its words, cached until the index changes."""
        if entry.generation != self._generation:
            weight = self._weight
            entry.total = sum(weight(t) for t in entry.terms[: entry.words])
            entry.generation = self._generation
        return entry.total

    def _candidates(self, entry: _Entry) -> list[int]:
        """Posts of the other kind sharing a not-too-common term, best cheap overlap first."""
        other_kind = "offer" if entry.post.kind == "want" else "want"
        postings = self._postings[other_kind]
        common = max(_COMMON_TERM_MIN, int(len(self._entries) * _COMMON_TERM_FRACTION))
        present = [(t, postings[t]) for t in entry.terms if t in postings]
        usable = [(t, ids) for t, ids in present if _size(ids) <= common]
        if not usable and present:
            # Only common terms in this post: use the three rarest rather than nothing.
            usable = sorted(present, key=lambda p: (_size(p[1]), p[0]))[:3]
        # Rarest (weightiest) terms first. Once the best few hundred candidates lead every
        # newcomer by more than the weight still to come, the big postings of the common terms
        # only top up the posts already found: the same candidates, far fewer posts visited.
        weighted = sorted(
            ((self._weight(t), _size(ids), ids) for t, ids in usable), key=lambda w: (-w[0], w[1])
        )
        remaining = sum(w for w, _n, _ids in weighted)
        overlap: dict[int, float] = {}
        get = overlap.get
        closed = False
        for weight, _count, ids in weighted:
            remaining -= weight
            if type(ids) is int:
                if not closed or ids in overlap:
                    overlap[ids] = get(ids, 0.0) + weight  # type: ignore[index, call-overload]
            elif closed:
                for post_id in ids:  # type: ignore[union-attr]
                    if post_id in overlap:
                        overlap[post_id] += weight
            else:
                for post_id in ids:  # type: ignore[union-attr]
                    overlap[post_id] = get(post_id, 0.0) + weight
            if not closed and len(overlap) >= _MAX_CANDIDATES and remaining > 0:
                # Strictly ahead, so no newcomer could even tie the last place.
                last = heapq.nlargest(_MAX_CANDIDATES, overlap.values())[-1]
                closed = last > remaining
        if len(overlap) <= _MAX_CANDIDATES:
            return list(overlap)
        # Ties go to the older post, as before; comparing plain tuples keeps this in C.
        ranked = zip(overlap.values(), map(neg, overlap), strict=True)
        best = heapq.nlargest(_MAX_CANDIDATES, ranked)
        return [-negative for _weight, negative in best]

    def _score_value(
        self, a: _Entry, a_terms: frozenset[str], a_cleaned: str, b: _Entry
    ) -> tuple[int, list[str]]:
        """Score two entries 0..100, with the terms they share (``a_terms``, ``a_cleaned``: a's)."""
        shared = [t for t in b.terms if t in a_terms]
        if not shared:
            return 0, shared
        weight = self._weight
        # Shared weight counts in full; the posts' sizes only a little (a wordy post should not
        # lose a match that a terse one would get). Sizes count words, not phrases, so the
        # n-grams of a long post do not inflate it.
        total_a = self._total(a)
        total_b = self._total(b)
        partial = a.partial | b.partial
        if partial:
            shared_weight = sum(
                weight(t) * (_PARTIAL_FACTOR if t in partial else 1.0) for t in shared
            )
        else:
            shared_weight = sum(weight(t) for t in shared)
        if shared_weight <= 0 or total_a <= 0 or total_b <= 0:
            return 0, []
        evidence = shared_weight / (total_a * total_b) ** _SIZE_DAMPING
        # Saturate: after a point, more shared terms add little.
        term_score = 1.0 - math.exp(-evidence / _SATURATION)
        fuzzy = fuzz.token_set_ratio(a_cleaned, _cleaned(b)) / 100.0
        score = 100.0 * (_TERM_SHARE * term_score + (1 - _TERM_SHARE) * fuzzy)
        if a.post.area and a.post.area == b.post.area:
            score += _AREA_BONUS
        return max(0, min(100, round(score))), shared

    def _score(self, a: _Entry, b: _Entry) -> tuple[int, tuple[str, ...]]:
        """Score two entries 0..100 and name the shared terms, most telling first."""
        score, shared = self._score_value(a, frozenset(a.terms), _cleaned(a), b)
        if not shared:
            return 0, ()
        want, offer = (a, b) if a.post.kind == "want" else (b, a)
        return score, self._reasons(frozenset(shared), want, offer)

    def _reasons(self, shared: frozenset[str], want: _Entry, offer: _Entry) -> tuple[str, ...]:
        """Shared terms for people: glossary phrases, then longer phrases, then weightier words."""

        def rank(term: str) -> tuple[int, int, float, str]:
            glossary = 1 if term.startswith("g:") else 0
            length = len(_term_words(term))
            return (-glossary, -length, -self._weight(term), term)

        chosen: list[str] = []
        covered: list[set[str]] = []
        displays: list[dict[str, str]] = []
        for term in sorted(shared, key=rank):
            words = set(_term_words(term))
            if any(words <= c for c in covered):
                continue
            if self._weight(term) <= 0:
                continue
            covered.append(words)
            if not displays:
                displays = [self._display(want), self._display(offer)]
            chosen.append(displays[0].get(term) or displays[1].get(term) or term)
            if len(chosen) >= _MAX_REASONS:
                break
        return tuple(chosen)


def _cleaned(entry: _Entry) -> str:
    """The post's cleaned text for rapidfuzz: its units (its words, less those only inside a
    glossary phrase). ``token_set_ratio`` compares sets of tokens, so their order is immaterial
    and the index need not keep the string."""
    words = entry.terms[: entry.words]
    partial = entry.partial
    return " ".join(t for t in words if t not in partial) if partial else " ".join(words)


def _term_words(term: str) -> list[str]:
    """The stems a term is made of, for telling whether one reason already covers another."""
    words = []
    for unit in term.split(" "):
        words.extend(unit[2:].split("_") if unit.startswith("g:") else [unit])
    return words


def _pair(post: PostForMatching, other: PostForMatching) -> tuple[int, int]:
    return (post.id, other.id) if post.kind == "want" else (other.id, post.id)


def score_pair(
    want_text: str, offer_text: str, index: MatchIndex | None = None
) -> tuple[int, tuple[str, ...]]:
    """Score a Want text against an Offer text (term weights from ``index`` if given)."""
    index = index if index is not None else MatchIndex()
    want = index._prepare(PostForMatching(-1, "want", -1, want_text))
    offer = index._prepare(PostForMatching(-2, "offer", -2, offer_text))
    return index._score(want, offer)
