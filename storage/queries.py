"""Query functions: each takes a session first and never commits (the caller owns it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    Council,
    Introduction,
    Member,
    Post,
    PostKind,
    PostStatus,
)


def council_by_name(session: Session, name: str) -> Council | None:
    """The council with this exact official name (case-insensitive)."""
    return session.scalar(select(Council).where(func.lower(Council.name) == name.lower()))


def council_by_code(session: Session, code: str | None, gss_code: str | None) -> Council | None:
    """The council with this register code or GSS code."""
    conds = []
    if code:
        conds.append(Council.code == code)
    if gss_code:
        conds.append(Council.gss_code == gss_code)
    if not conds:
        return None
    return session.scalar(select(Council).where(or_(*conds)))


def member_by_slack_id(
    session: Session, team_id: str, user_id: str, *, lock: bool = False
) -> Member | None:
    """The member for a Slack user, optionally locked for the rest of the transaction."""
    stmt = select(Member).where(Member.slack_team_id == team_id, Member.slack_user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def member_by_email(session: Session, email: str) -> Member | None:
    """The first member with this email address (case and surrounding spaces ignored)."""
    key = Member.key_for(email)
    if key is None:
        return None
    return session.scalar(select(Member).where(Member.email_key == key).order_by(Member.id))


def member_ids_by_email(session: Session, emails: Iterable[str]) -> dict[str, int]:
    """The id of the first member for each of these email addresses that has one, by email key.

    Looked up in chunks of 500 keys (one indexed ``IN`` each), not one query per address.
    """
    keys = sorted({k for k in (Member.key_for(e) for e in emails) if k is not None})
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stmt = (
            select(Member.email_key, Member.id)
            .where(Member.email_key.in_(chunk))
            .order_by(Member.id.desc())
        )
        # Newest first, so the oldest (the one member_by_email finds) is written last.
        found.update((key, member_id) for key, member_id in session.execute(stmt) if key)
    return found


def open_posts_of(session: Session, member_id: int, kind: PostKind | None = None) -> list[Post]:
    """A member's open posts, oldest first."""
    stmt = select(Post).where(Post.member_id == member_id, Post.status == PostStatus.OPEN)
    if kind is not None:
        stmt = stmt.where(Post.kind == kind)
    return list(session.scalars(stmt.order_by(Post.id)))


def posts_of(session: Session, member_id: int) -> list[Post]:
    """Every post of a member, newest first."""
    return list(
        session.scalars(select(Post).where(Post.member_id == member_id).order_by(Post.id.desc()))
    )


def open_posts(session: Session, kind: PostKind | None = None) -> list[Post]:
    """All open posts, oldest first."""
    stmt = select(Post).where(Post.status == PostStatus.OPEN)
    if kind is not None:
        stmt = stmt.where(Post.kind == kind)
    return list(session.scalars(stmt.order_by(Post.id)))


def introduced_pairs(
    session: Session, post_ids: Iterable[int] | None = None
) -> set[tuple[int, int]]:
    """(want_id, offer_id) of every introduction, or of those touching ``post_ids``."""
    stmt = select(Introduction.want_id, Introduction.offer_id)
    if post_ids is not None:
        ids = list(post_ids)
        if not ids:
            return set()
        stmt = stmt.where(or_(Introduction.want_id.in_(ids), Introduction.offer_id.in_(ids)))
    return {(w, o) for w, o in session.execute(stmt)}


def introductions_of_member(session: Session, member_id: int) -> list[Introduction]:
    """Introductions in which one of the member's posts takes part, newest first."""
    mine = select(Post.id).where(Post.member_id == member_id)
    return list(
        session.scalars(
            select(Introduction)
            .where(or_(Introduction.want_id.in_(mine), Introduction.offer_id.in_(mine)))
            .order_by(Introduction.id.desc())
        )
    )


def existing_fingerprints(session: Session, fingerprints: Sequence[str]) -> set[str]:
    """Which of these import fingerprints are already stored."""
    found: set[str] = set()
    for start in range(0, len(fingerprints), 500):
        chunk = fingerprints[start : start + 500]
        found.update(
            fp
            for fp in session.scalars(select(Post.fingerprint).where(Post.fingerprint.in_(chunk)))
            if fp
        )
    return found


def posts_with_authors(session: Session, post_ids: Iterable[int]) -> list[Post]:
    """These posts, with their members and councils, loaded in one round of queries (they are
    then in the session: no lazy load each)."""
    wanted = [i for i in set(post_ids) if i > 0]
    if not wanted:
        return []
    return list(
        session.scalars(
            select(Post)
            .where(Post.id.in_(wanted))
            .options(selectinload(Post.member), selectinload(Post.council))
        )
    )
