"""Finding things: open posts by their words, and a member's own posts and introductions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput
from bot.kernel.text import clean_post_text, has_visible_text
from bot.kernel.vocabulary import PostStatus
from bot.live_index import LiveMatchIndex
from bot.services.browse import browse_page
from bot.services.context import ServiceContext, member_of
from bot.services.views import member_overview, post_view
from bot.slack.browse import BrowseFilter, BrowsePage
from bot.slack.views import MemberOverview, PostView
from storage.models import Post

# A search shows posts scoring at least this much (lower than an introduction needs).
SEARCH_THRESHOLD = 25


def search_posts(
    session: Session, matcher: LiveMatchIndex, text: str, *, limit: int = 10
) -> list[tuple[Post, int]]:
    """Open posts ranked by how well they match ``text``, both kinds."""
    text = clean_post_text(text)
    if not has_visible_text(text):
        raise InvalidInput(
            "Tell me what to search for, e.g. `/km search information asset register`."
        )
    matcher.refresh(session)
    found: dict[int, int] = {}
    for kind in ("want", "offer"):
        for m in matcher.search(text, kind, threshold=SEARCH_THRESHOLD, limit=limit):
            pid = m.offer_id if kind == "want" else m.want_id
            found[pid] = max(found.get(pid, 0), m.score)
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    posts = {
        p.id: p for p in session.scalars(select(Post).where(Post.id.in_([i for i, _ in ranked])))
    }
    return [(posts[i], s) for i, s in ranked if i in posts and posts[i].status == PostStatus.OPEN]


class BrowsingService:
    """Search, browsing and a member's overview as the Slack handlers need them (read-only)."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def search(self, text: str) -> list[tuple[PostView, int]]:
        """Open posts matching free text, best first; InvalidInput for an empty search."""
        with self.context.reading() as session:
            found = search_posts(session, self.context.live_index, text)
            return [(post_view(p), s) for p, s in found]

    def overview(self, team_id: str, user_id: str) -> MemberOverview:
        """A member's posts and introductions (empty for someone who has never posted)."""
        with self.context.reading() as session:
            return member_overview(
                session, member_of(session, team_id, user_id), self.context.clock()
            )

    def is_member(self, team_id: str, user_id: str) -> bool:
        """Whether this Slack user is known at all (joined, or posted before joining)."""
        with self.context.reading() as session:
            return member_of(session, team_id, user_id) is not None

    def home(
        self, team_id: str, user_id: str, f: BrowseFilter
    ) -> tuple[MemberOverview, BrowsePage]:
        """A member's own posts and introductions, and a page of the marketplace for App Home."""
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            now = self.context.clock()
            found = browse_page(
                session,
                f,
                now=now,
                own_council_id=member.council_id if member is not None else None,
            )
            return member_overview(session, member, now), found
