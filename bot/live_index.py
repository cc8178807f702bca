"""Keeps a match index in step with the store, so every web process matches on current posts."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.clock import utcnow
from bot.kernel.vocabulary import KNOWLEDGE_AREAS, PostKind, PostStatus
from bot.matching import (
    DEFAULT_CANDIDATE_THRESHOLD,
    DEFAULT_INTRO_THRESHOLD,
    DEFAULT_RUNNER_UP_GAP,
    Explanation,
    Glossary,
    Match,
    MatchIndex,
    PostForMatching,
    explain_pair,
    score_pair,
)
from storage import queries
from storage.models import Post

logger = logging.getLogger(__name__)

# Another process's transaction may commit a little after the time it stamped on a post;
# re-reading a short window behind the watermark means such posts are never missed.
_OVERLAP = timedelta(seconds=60)

# Posts another process added are fitted into the remembered partner lists one by one up to
# this many in one refresh; beyond it (an import) the lists are dropped and worked out again.
_PARTNERS_REFRESHED = 50


# What the index needs of a post (the text, not the whole row).
_ROW = select(
    Post.id, Post.kind, Post.council_id, Post.text, Post.area, Post.status, Post.changed_at
)


# One shared string per kind and area, not one per indexed post.
_KIND = {kind: str(kind) for kind in PostKind}
_AREA = {area: area for area in KNOWLEDGE_AREAS}


def for_matching(post: Post) -> PostForMatching:
    """The matching engine's view of a stored post."""
    return PostForMatching(
        id=post.id,
        kind=str(post.kind),
        council_id=post.council_id,
        text=post.text,
        area=post.area,
    )


class LiveMatchIndex:
    """A thread-safe match index over the open posts, refreshed incrementally from the database."""

    def __init__(
        self,
        glossary: Glossary | None = None,
        *,
        intro_threshold: int | None = None,
        candidate_threshold: int | None = None,
        max_intros: int = 3,
    ) -> None:
        self.index = MatchIndex(glossary)
        self.intro_threshold = (
            DEFAULT_INTRO_THRESHOLD if intro_threshold is None else intro_threshold
        )
        self.candidate_threshold = min(
            self.intro_threshold,
            DEFAULT_CANDIDATE_THRESHOLD if candidate_threshold is None else candidate_threshold,
        )
        self.max_intros = max_intros
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._watermark: datetime | None = None
        # Post id -> the change stamp this index reflects, for posts changed near the watermark.
        self._seen: dict[int, datetime] = {}
        self._seen_floor = 1000
        # Counts changes to the index: matches found at one version hold until it moves.
        self.version = 0

    @property
    def glossary(self) -> Glossary:
        """The glossary posts are read with: the shipped one and the network's own rows."""
        return self.index.glossary

    def refresh(self, session: Session) -> int:
        """Bring the index up to date with the store; returns how many posts were (re)read.

        The first call reads every open post; later calls read only the ids and stamps of posts
        changed in the last minute or so, then the full rows of those this process has not yet
        seen at that stamp. Reads happen outside the lock, so one thread's query never holds up
        another's matching; a stale read never undoes a newer one (stamps only move forward).
        """
        if self._watermark is None:
            with self._load_lock:
                if self._watermark is None:
                    return self._load_all(session)
        assert self._watermark is not None
        since = self._watermark - _OVERLAP
        queried_at = utcnow()
        stamps = session.execute(
            select(Post.id, Post.changed_at).where(Post.changed_at >= since)
        ).all()
        with self._lock:
            todo = [pid for pid, stamp in stamps if self._is_news(pid, stamp)]
        rows: list[Any] = []
        for start in range(0, len(todo), 500):
            rows.extend(session.execute(_ROW.where(Post.id.in_(todo[start : start + 500]))))
        with self._lock:
            if len(rows) > _PARTNERS_REFRESHED:
                self.index.forget_partners()
            for row in rows:
                self._apply(row)
                if row.status == PostStatus.OPEN and len(rows) <= _PARTNERS_REFRESHED:
                    self.index.find_partners(row.id)
            newest = max((stamp for _pid, stamp in stamps), default=since)
            # A quiet store still moves the window on: after a 100,000-post import, the posts
            # stamped then leave it after two minutes instead of being listed on every refresh.
            self._advance(max(newest, queried_at - _OVERLAP))
        return len(rows)

    def _load_all(self, session: Session) -> int:
        """Read every open post into an empty index, streaming rows to bound memory."""
        count = 0
        newest: datetime | None = None
        queried_at = utcnow()
        result = session.execute(
            _ROW.where(Post.status == PostStatus.OPEN).execution_options(yield_per=2000)
        )
        for partition in result.partitions():
            with self._lock:  # in short holds, so a request is never stuck behind the load
                for row in partition:
                    self._apply(row)
                    if newest is None or row.changed_at > newest:
                        newest = row.changed_at
            count += len(partition)
        with self._lock:
            self._advance(max(newest, queried_at - _OVERLAP) if newest else queried_at - _OVERLAP)
        logger.info("Match index loaded: %d open posts", count)
        return count

    def _is_news(self, post_id: int, stamp: datetime) -> bool:
        seen = self._seen.get(post_id)
        return seen is None or stamp > seen

    def _apply(self, row: Any) -> None:
        """Put one post row into the index (or take it out), unless a newer one is applied."""
        if not self._is_news(row.id, row.changed_at):
            return
        if row.status == PostStatus.OPEN:
            self.index.add(
                PostForMatching(
                    id=row.id,
                    kind=_KIND[row.kind],
                    council_id=row.council_id,
                    text=row.text,
                    area=_AREA.get(row.area, row.area),
                )
            )
        else:
            self.index.remove(row.id)
        self._seen[row.id] = row.changed_at
        self.version += 1

    def _advance(self, newest: datetime) -> None:
        """Move the watermark forward and forget stamps that no window will show again."""
        if self._watermark is None or newest > self._watermark:
            self._watermark = newest
        horizon = self._watermark - _OVERLAP
        if self._seen and len(self._seen) > self._seen_floor:
            self._seen = {pid: s for pid, s in self._seen.items() if s >= horizon}
            # Prune again only when the window has grown: keeps each refresh O(changes).
            self._seen_floor = max(1000, 2 * len(self._seen))

    def add(self, post: Post, found: list[Match] | None = None) -> None:
        """Put a post this process just stored into the index straight away (with ``found``,
        its matches as found before it was stored, which become its remembered partners)."""
        with self._lock:
            if post.status == PostStatus.OPEN:
                self.index.add(for_matching(post))
                if found is None:
                    self.index.find_partners(post.id)
                else:
                    self.index.note_partners(post.id, found)
            else:
                self.index.remove(post.id)
            self.version += 1
            if post.changed_at is not None:
                # Stamps only move forward: an older read of this post no longer applies.
                seen = self._seen.get(post.id)
                if seen is None or post.changed_at > seen:
                    self._seen[post.id] = post.changed_at

    def remove(self, post_id: int) -> None:
        """Take a post out of the index (closed, removed)."""
        with self._lock:
            self.index.remove(post_id)
            self.version += 1

    def matches_for(
        self,
        session: Session,
        post: Post,
        *,
        threshold: int | None = None,
        limit: int | None = None,
    ) -> list[Match]:
        """Matches for a stored post, excluding pairs already introduced."""
        pairs = queries.introduced_pairs(session, [post.id])
        probe = for_matching(post)
        with self._lock:
            if threshold is not None:
                return self.index.matches_for(
                    probe,
                    threshold=threshold,
                    limit=self.max_intros if limit is None else limit,
                    already_introduced=pairs,
                )
            # As in all_matches: each pair judged from both sides.
            _found, strong = self._search(probe, pairs)
        return strong[: self.max_intros if limit is None else limit]

    def explain(self, want_id: int, offer_id: int) -> Explanation | None:
        """Why an indexed want and offer would or would not be introduced (None if either is
        not in the index)."""
        with self._lock:
            if want_id not in self.index or offer_id not in self.index:
                return None
            return explain_pair(
                self.index,
                want_id,
                offer_id,
                threshold=self.intro_threshold,
                max_per_post=self.max_intros,
                runner_up_gap=DEFAULT_RUNNER_UP_GAP,
            )

    def score_pair(self, want_text: str, offer_text: str) -> tuple[int, tuple[str, ...]]:
        """Score and reasons for a chosen want and offer, with this store's term weights."""
        with self._lock:
            return score_pair(want_text, offer_text, self.index)

    def search(self, text: str, kind: str, *, threshold: int, limit: int) -> list[Match]:
        """Open posts of the other kind than ``kind`` that match free ``text``."""
        probe = PostForMatching(id=-1, kind=kind, council_id=-1, text=text)
        with self._lock:
            return self.index.matches_for(probe, threshold=threshold, limit=limit)

    def strong_and_weak_for(self, probe: PostForMatching) -> tuple[list[Match], list[Match]]:
        """In one search, for a post not stored yet (it has no introductions): the matches to
        introduce, and the weaker candidates behind them. Each pair is judged from both sides
        (``MatchIndex.judge``), as ``all_matches`` judges it."""
        with self._lock:
            found, strong = self._search(probe)
        strong = strong[: self.max_intros]
        return strong, [m for m in found if m not in strong]

    def _search(
        self, probe: PostForMatching, introduced: Collection[tuple[int, int]] = ()
    ) -> tuple[list[Match], list[Match]]:
        """A post's candidates (best first) and, among them, those the rule introduces (call
        with the lock held)."""
        found = self.index.matches_for(
            probe,
            threshold=self.candidate_threshold,
            limit=self.max_intros + 6,
            already_introduced=introduced,
        )
        judged = self.index.judge(
            probe,
            found,
            threshold=self.intro_threshold,
            max_per_post=self.max_intros,
            runner_up_gap=DEFAULT_RUNNER_UP_GAP,
        )
        return found, [m for m, verdict in judged if verdict is None]

    def all_matches(self, session: Session) -> list[Match]:
        """Every introduction the bot would make over the open posts, as things stand."""
        pairs = queries.introduced_pairs(session)
        with self._lock:
            return self.index.all_matches(
                threshold=self.intro_threshold,
                max_per_post=self.max_intros,
                already_introduced=pairs,
            )
