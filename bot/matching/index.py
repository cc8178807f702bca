# Over 400 lines: MatchIndex is one class, its postings, caches and typo lists one shared state.
"""The match index: open posts in an inverted index over weighted terms, and their matches.

Candidates come from the inverted index, never a scan: very common terms are skipped and only the
best few hundred candidates by cheap overlap are scored in full (``scoring``). Unknown words of
five letters or more that are a typo away from a known word count as that word.
"""

from __future__ import annotations

import heapq
import sys
from array import array
from collections.abc import Collection
from operator import neg

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot.matching.glossary import Glossary
from bot.matching.posts import KINDS, Match, PostForMatching, _Entry
from bot.matching.scoring import (
    DEFAULT_INTRO_THRESHOLD,
    DEFAULT_MAX_INTROS,
    DEFAULT_RUNNER_UP_GAP,
    _cleaned,
    _reasons,
    _score,
    _score_value,
    pair_verdict,
)
from bot.matching.terms import _build, _compile, _word_tokens
from bot.matching.weights import _background, _idf, _term_constants
from bot.matching.words import _Token

# Candidate generation limits, for a store of 100,000 open posts.
_MAX_CANDIDATES = 200
# A post's own best partners (for judging a pair from its side) are looked for among fewer: its
# best matches lead the cheap overlap ranking by far, and this is paid for each matched post.
_PARTNER_CANDIDATES = 20
_COMMON_TERM_FRACTION = 0.05
_COMMON_TERM_MIN = 500

# Typo tolerance.
_TYPO_MIN_LENGTH = 5
_TYPO_MIN_RATIO = 85.0

_NO_FIXES: tuple[tuple[int, _Token], ...] = ()

# How many of each post's best partners are remembered, for judging a pair from both sides.
_PARTNERS_KEPT = 8

# A partner: (score, the other post's id), best first; ties go to the older (lower) id.
Partner = tuple[int, int]

# A term's postings: the one post that uses it (most phrases are used once), or a compact array
# of post ids. A bare id or an array instead of a set saves about 200 bytes for each rare term and
# three quarters of the memory of a common one; candidate generation only iterates postings.
_Ids = int | array


def _size(ids: _Ids | None) -> int:
    if ids is None:
        return 0
    return 1 if type(ids) is int else len(ids)  # type: ignore[arg-type]


class MatchIndex:
    """An in-memory index of open posts, with an inverted index over weighted terms.

    Not thread-safe: ``bot.live_index.LiveMatchIndex`` serialises access for the web app.
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
        # Each post's best partners, worked out when first needed and kept up to date as posts
        # come (``note_partners``) and go (a list naming a removed post is dropped).
        self._partners: dict[int, list[Partner]] = {}
        self._listed_in: dict[int, set[int]] = {}

    # -- maintenance --

    @property
    def glossary(self) -> Glossary:
        """The glossary this index reads texts with (the network's, in the running bot)."""
        return self._glossary

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
        self._forget_partners(post_id)
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
        candidates: int = _MAX_CANDIDATES,
    ) -> list[Match]:
        """The best matches for one post among indexed posts of the other kind, best first
        (scored in full among the ``candidates`` with the most cheap overlap)."""
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
        weight, total = self._weight, self._total
        passed: list[tuple[int, tuple[int, int], _Entry, list[str]]] = []
        for candidate_id in self._candidates(entry, candidates):
            other = entries[candidate_id]
            if other.post.council_id == post.council_id or other.post.id == post.id:
                continue
            pair = _pair(post, other.post)
            if pair in introduced:
                continue
            score, shared = _score_value(entry, mine, cleaned, other, weight, total)
            if score >= threshold and shared:
                passed.append((score, pair, other, shared))
        # Reasons cost a re-normalisation: name them only for the matches returned.
        side = 1 if post.kind == "want" else 0
        passed.sort(key=lambda p: (-p[0], p[1][side]))
        matches = []
        for score, pair, other, shared in passed[:limit]:
            want, offer = (entry, other) if post.kind == "want" else (other, entry)
            reasons = _reasons(frozenset(shared), want, offer, weight, self._display)
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
        """The introductions the bot would make over the whole index, best first.

        Each pair is judged by ``pair_verdict`` from both sides, so the result depends only on
        the posts, not on the order they were added in."""
        introduced = set(already_introduced)
        found: dict[tuple[int, int], Match] = {}
        wants = sorted(i for i, e in self._entries.items() if e.post.kind == "want")
        for want_id in wants:
            entry = self._entries[want_id]
            for match in self.matches_for(
                entry.post,
                threshold=1,
                limit=max(_PARTNERS_KEPT, max_per_post + 1),
                already_introduced=introduced,
            ):
                found[(match.want_id, match.offer_id)] = match
        ranked: dict[tuple[str, int], list[Partner]] = {}
        for m in found.values():
            ranked.setdefault(("want", m.want_id), []).append((m.score, m.offer_id))
            ranked.setdefault(("offer", m.offer_id), []).append((m.score, m.want_id))
        for partners in ranked.values():
            partners.sort(key=_partner_order)
        chosen = [
            m
            for m in found.values()
            if pair_verdict(
                m.score,
                _better(ranked[("want", m.want_id)], (m.score, m.offer_id)),
                _better(ranked[("offer", m.offer_id)], (m.score, m.want_id)),
                threshold=threshold,
                max_per_post=max_per_post,
                runner_up_gap=runner_up_gap,
            )
            is None
        ]
        return sorted(chosen, key=lambda m: (-m.score, m.want_id, m.offer_id))

    def partners(self, post_id: int) -> list[Partner]:
        """A post's best partners among the indexed posts (score, id), best first."""
        known = self._partners.get(post_id)
        if known is not None:
            return known
        entry = self._entries[post_id]
        found = self.matches_for(
            entry.post, threshold=1, limit=_PARTNERS_KEPT, candidates=_PARTNER_CANDIDATES
        )
        partners = [(m.score, _other(m, entry.post.kind)) for m in found]
        self._remember_partners(post_id, partners)
        return partners

    def note_partners(self, post_id: int, found: list[Match]) -> None:
        """Record a just-added post's matches (found before it was added) as its partners, and
        as a partner of each matched post whose list is already known."""
        if post_id not in self._entries:
            return
        kind = self._entries[post_id].post.kind
        own: list[Partner] = []
        for m in found:
            other = _other(m, kind)
            if other not in self._entries:
                continue
            own.append((m.score, other))
            theirs = self._partners.get(other)
            if theirs is not None:
                theirs = sorted([*theirs, (m.score, post_id)], key=_partner_order)
                self._remember_partners(other, theirs[:_PARTNERS_KEPT])
        self._remember_partners(post_id, sorted(own, key=_partner_order)[:_PARTNERS_KEPT])

    def judge(
        self,
        post: PostForMatching,
        found: list[Match],
        *,
        threshold: int,
        max_per_post: int,
        runner_up_gap: int | None,
    ) -> list[tuple[Match, str | None]]:
        """``pair_verdict`` for each of a post's matches (``found``, best first, as
        ``matches_for`` returns them), the other post's side from its remembered partners.
        ``post`` may be new (not indexed yet): it then ranks below its equals, as the newest."""
        mine = [(m.score, _other(m, post.kind)) for m in found]
        judged: list[tuple[Match, str | None]] = []
        for m, me in zip(found, mine, strict=True):
            other = me[1]
            own_better = _better(mine, me)
            own_side = (own_better, []) if post.kind == "want" else ([], own_better)
            early = pair_verdict(
                m.score,
                *own_side,
                threshold=threshold,
                max_per_post=max_per_post,
                runner_up_gap=runner_up_gap,
            )
            if early is not None:
                # Decided on this post's side alone: the other's partners need not be found.
                judged.append((m, early))
                continue
            as_partner = (m.score, post.id if post.id >= 0 else sys.maxsize)
            theirs = [p for p in self.partners(other) if p[1] != post.id]
            theirs = sorted([*theirs, as_partner], key=_partner_order)
            other_better = _better(theirs, as_partner)
            want_better, offer_better = (
                (own_better, other_better) if post.kind == "want" else (other_better, own_better)
            )
            verdict = pair_verdict(
                m.score,
                want_better,
                offer_better,
                threshold=threshold,
                max_per_post=max_per_post,
                runner_up_gap=runner_up_gap,
            )
            judged.append((m, verdict))
        return judged

    def find_partners(self, post_id: int) -> None:
        """Work out an indexed post's partners and add it to theirs: for a post added without
        its matches (from another process), so the lists already known still see it."""
        entry = self._entries.get(post_id)
        if entry is not None and self._partners:
            self.note_partners(
                post_id, self.matches_for(entry.post, threshold=1, limit=_PARTNERS_KEPT)
            )

    def forget_partners(self) -> None:
        """Drop every remembered partner list (after a large change they are worked out again
        as they are needed, which is cheaper than keeping them up to date one post at a time)."""
        self._partners.clear()
        self._listed_in.clear()

    def _remember_partners(self, post_id: int, partners: list[Partner]) -> None:
        self._partners[post_id] = partners
        for _points, other in partners:
            self._listed_in.setdefault(other, set()).add(post_id)

    def _forget_partners(self, post_id: int) -> None:
        """A post goes (or changes): drop its list and every list that names it."""
        self._partners.pop(post_id, None)
        for listing in self._listed_in.pop(post_id, ()):
            self._partners.pop(listing, None)

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
        static = _term_constants(term, self._compiled.concepts)
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
            idf = _idf(n, df, smoothing)
            weight = self._weights[term] = idf * boost
        return weight

    def _total(self, entry: _Entry) -> float:
        """A post's size: the summed weight of its words, cached until the index changes."""
        if entry.generation != self._generation:
            weight = self._weight
            entry.total = sum(weight(t) for t in entry.terms[: entry.words])
            entry.generation = self._generation
        return entry.total

    def _candidates(self, entry: _Entry, limit: int = _MAX_CANDIDATES) -> list[int]:
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
            if not closed and len(overlap) >= limit and remaining > 0:
                # Strictly ahead, so no newcomer could even tie the last place.
                last = heapq.nlargest(limit, overlap.values())[-1]
                closed = last > remaining
        if len(overlap) <= limit:
            return list(overlap)
        # Ties go to the older post, as before; comparing plain tuples keeps this in C.
        ranked = zip(overlap.values(), map(neg, overlap), strict=True)
        best = heapq.nlargest(limit, ranked)
        return [-negative for _weight, negative in best]


def _other(match: Match, kind: str) -> int:
    """The id of the post a match pairs with a post of this kind."""
    return match.offer_id if kind == "want" else match.want_id


def _partner_order(partner: Partner) -> tuple[int, int]:
    """Best first: higher score, then the older (lower) id."""
    return (-partner[0], partner[1])


def _better(partners: list[Partner], this: Partner) -> list[int]:
    """The scores of the partners that rank above ``this`` one (``partners`` best first)."""
    key = _partner_order(this)
    return [p[0] for p in partners if p != this and _partner_order(p) < key]


def _pair(post: PostForMatching, other: PostForMatching) -> tuple[int, int]:
    return (post.id, other.id) if post.kind == "want" else (other.id, post.id)


def score_pair(
    want_text: str, offer_text: str, index: MatchIndex | None = None
) -> tuple[int, tuple[str, ...]]:
    """Score a Want text against an Offer text (term weights from ``index`` if given)."""
    index = index if index is not None else MatchIndex()
    want = index._prepare(PostForMatching(-1, "want", -1, want_text))
    offer = index._prepare(PostForMatching(-2, "offer", -2, offer_text))
    return _score(want, offer, index._weight, index._total, index._display)
