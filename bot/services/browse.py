"""Browsing the open posts in App Home: filtered by kind, KM area, purpose, region and age."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bot.kernel.vocabulary import PostStatus
from bot.services.views import post_view
from bot.slack.browse import PAGE_SIZE, BrowseFilter, BrowsePage, BrowseRow
from storage.models import Council, Post

NEW_FOR = timedelta(days=7)


def _matching(f: BrowseFilter, now: datetime) -> Select[Post]:
    stmt = select(Post).join(Council, Post.council_id == Council.id)
    stmt = stmt.where(Post.status == PostStatus.OPEN)
    if f.kind:
        stmt = stmt.where(Post.kind == f.kind)
    if f.area:
        stmt = stmt.where(Post.area == f.area)
    if f.purpose:
        stmt = stmt.where(Post.purpose == f.purpose)
    if f.region:
        stmt = stmt.where(Council.region == f.region)
    if f.new_this_week:
        stmt = stmt.where(Post.created_at >= now - NEW_FOR)
    return stmt


def regions(session: Session) -> tuple[str, ...]:
    """The regions of the councils that have open posts, in order."""
    found = session.scalars(
        select(Council.region)
        .join(Post, Post.council_id == Council.id)
        .where(Post.status == PostStatus.OPEN, Council.region.is_not(None))
        .distinct()
    )
    return tuple(sorted(r for r in found if r))


def browse_page(
    session: Session,
    f: BrowseFilter,
    *,
    now: datetime,
    own_council_id: int | None,
    page_size: int = PAGE_SIZE,
) -> BrowsePage:
    """One page of the open posts matching ``f``, newest first, and how many match in all."""
    stmt = _matching(f, now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    last_page = max(0, (total - 1) // page_size)
    if f.page > last_page:
        f = replace(f, page=last_page)  # past the end (posts closed since): the last page
    posts = session.scalars(
        stmt.order_by(Post.created_at.desc(), Post.id.desc())
        .offset(f.page * page_size)
        .limit(page_size)
    ).all()
    rows = tuple(
        BrowseRow(
            post=post_view(p),
            region=p.council.region,
            own=own_council_id is not None and p.council_id == own_council_id,
            new=p.created_at >= now - NEW_FOR,
        )
        for p in posts
    )
    return BrowsePage(f, rows, total, regions(session), page_size)
