"""Keeps a match index in step with the store, so every web process matches on current posts."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.glossary import Glossary
from bot.matching import (
    DEFAULT_CANDIDATE_THRESHOLD,
    DEFAULT_INTRO_THRESHOLD,
    DEFAULT_RUNNER_UP_GAP,
    Match,
    MatchIndex,
    PostForMatching,
)
from storage import queries
from storage.models import Post, PostStatus

logger = logging.getLogger(__name__)

# Another process's transaction may commit a little after the time it stamped on a post;
# re-reading a short window behind the watermark means such posts are never missed.
_OVERLAP = timedelta(seconds=60)


def for_matching(post: Post) -> PostForMatching:
    """The matching engine's view of a stored post."""
    return PostForMatching(
        id=post.id,
        kind=str(post.kind),
        council_id=post.council_id,
        text=post.text,
        area=post.area,
    )


class MarketMatcher:
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
        self._watermark: datetime | None = None

    def refresh(self, session: Session) -> int:
        """Bring the index up to date with the store; returns how many posts were looked at."""
        with self._lock:
            since = None if self._watermark is None else self._watermark - _OVERLAP
            rows = queries.posts_changed_since(session, since)
            newest = self._watermark
            for pid, kind, council_id, text, area, status, changed_at in rows:
                if status == PostStatus.OPEN:
                    self.index.add(
                        PostForMatching(
                            id=pid, kind=str(kind), council_id=council_id, text=text, area=area
                        )
                    )
                else:
                    self.index.remove(pid)
                if newest is None or changed_at > newest:
                    newest = changed_at
            if self._watermark is None and newest is None:
                # An empty store: start watching from the database's idea of "now" next time.
                from storage.models import utcnow

                newest = utcnow()
            self._watermark = newest
            return len(rows)

    def add(self, post: Post) -> None:
        """Put a post this process just stored into the index straight away."""
        with self._lock:
            if post.status == PostStatus.OPEN:
                self.index.add(for_matching(post))
            else:
                self.index.remove(post.id)

    def remove(self, post_id: int) -> None:
        """Take a post out of the index (closed, removed)."""
        with self._lock:
            self.index.remove(post_id)

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
        with self._lock:
            found = self.index.matches_for(
                for_matching(post),
                threshold=self.intro_threshold if threshold is None else threshold,
                limit=self.max_intros if limit is None else limit,
                already_introduced=pairs,
            )
        if threshold is None and found:
            # As in all_matches: a match far behind the post's best one is a weak afterthought.
            best = found[0].score
            found = [m for m in found if m.score >= best - DEFAULT_RUNNER_UP_GAP]
        return found

    def all_matches(self, session: Session) -> list[Match]:
        """Every introduction the bot would make over the open posts, as things stand."""
        pairs = queries.introduced_pairs(session)
        with self._lock:
            return self.index.all_matches(
                threshold=self.intro_threshold,
                max_per_post=self.max_intros,
                already_introduced=pairs,
            )
