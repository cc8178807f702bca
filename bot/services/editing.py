"""Editing a post: its author changes an open post's text, area, purpose or link.

The card is updated in place (through the outbox), the post is matched again and only pairs
never introduced before are introduced; the change is kept in the audit log. As in posting,
the matches are found first in a read-only session, so the write transaction stays short.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput, NeedsCouncil, NotAllowed, NotFound
from bot.kernel.settings import Settings
from bot.kernel.vocabulary import PostStatus
from bot.live_index import LiveMatchIndex
from bot.outbox import enqueue as outbox
from bot.reports.outputs import service_area_of
from bot.runtime.intake import Ticket
from bot.services import audit, introductions
from bot.services import sessions as market_sessions
from bot.services.closing import owe_card
from bot.services.context import ServiceContext, member_of
from bot.services.posting import Draft, MatchPlan, lock_member, validate_post_fields
from bot.services.views import introduction_view, post_view
from bot.slack import edits as edit_messages
from bot.slack.views import IntroductionView, PostView
from storage.db import after_commit
from storage.models import Introduction, Member, Post

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditedView:
    """A post after its author saved it: whether anything changed, and new introductions."""

    post: PostView
    changed: bool
    introduced: tuple[IntroductionView, ...]


def post_snapshot(post: Post) -> dict[str, Any]:
    """What the audit log keeps of a post's editable fields."""
    return {"text": post.text, "area": post.area, "purpose": post.purpose, "link": post.link}


def _as_edited(post: Post, new: Draft) -> Post:
    """The post as its author has just edited it, for the matching engine only: a transient
    copy, never added to a session, so nothing is written until the edit is saved."""
    return Post(
        id=post.id, kind=post.kind, council_id=post.council_id, text=new.text, area=new.area
    )


def plan_rematch(session: Session, post: Post, new: Draft, matcher: LiveMatchIndex) -> MatchPlan:
    """The pairs to introduce for a post as edited (those introduced before left out), found
    outside any write transaction: the search then never holds the database's write lock."""
    matcher.refresh(session)
    version = matcher.version
    return MatchPlan(
        matcher.matches_for(session, _as_edited(post, new)),
        [],
        version,
        service_area_of(new.text, matcher.glossary),
    )


def draft_snapshot(new: Draft) -> dict[str, Any]:
    """A draft's editable fields, as ``post_snapshot`` keeps a post's."""
    return {"text": new.text, "area": new.area, "purpose": new.purpose, "link": new.link}


def editable_post(session: Session, member: Member | None, post_id: int | None) -> Post:
    """One of the member's own open posts; a clear refusal for anything else."""
    post = session.get(Post, post_id) if post_id is not None else None
    if post is None:
        raise NotFound("That post no longer exists.")
    label = post_view(post).label
    if member is None or post.member_id != member.id:
        raise NotAllowed(
            f"Only the person who posted {label} can edit it. If your council can help, "
            "use the card's other button."
        )
    if post.status == PostStatus.REMOVED:
        raise InvalidInput(f"{label} was removed by a facilitator, so it can't be edited.")
    if post.status != PostStatus.OPEN:
        raise InvalidInput(
            f"{label} is {post.status}, so it can't be edited. Post it again if you need to."
        )
    return post


def edit_post(
    session: Session,
    member: Member,
    post_id: int,
    new: Draft,
    *,
    settings: Settings,
    matcher: LiveMatchIndex,
    now: datetime,
    plan: MatchPlan | None = None,
) -> tuple[Post, bool, list[Introduction]]:
    """Save an author's changes to their open post: (post, changed, new introductions).

    Checked as a new post is; the card is updated; the post is matched again and only pairs
    never introduced are introduced (``matches_for`` leaves introduced pairs out, and
    ``introduce`` refuses a pair twice); the edit is audited. With a ``plan`` (from
    ``plan_rematch``), the matches are found again here only if the index changed since."""
    lock_member(session, member)  # one edit at a time, and none while the member posts
    post = editable_post(session, member, post_id)
    session.refresh(post)
    text, area, purpose, link = validate_post_fields(
        new.text,
        max_length=settings.max_post_length,
        area=new.area,
        purpose=new.purpose,
        link=new.link,
    )
    checked = Draft(post.kind, text, area, purpose, link)
    before = post_snapshot(post)
    after = draft_snapshot(checked)
    if before == after:
        return post, False, []
    # Up to date before the change: the index must never hold this post's uncommitted text.
    matcher.refresh(session)
    if plan is None or plan.version != matcher.version:
        plan = plan_rematch(session, post, checked, matcher)
    post.text, post.area, post.purpose, post.link = text, area, purpose, link
    post.service_area = plan.service_area
    post.changed_at = now
    session.flush()
    owe_card(session, post)
    market_sessions.on_post_edited(session, post, now)
    made = introductions.introduce_matches(session, plan.strong, settings=settings)
    label = post_view(post).label
    audit.record(
        session,
        member.slack_user_id or f"member {member.id}",
        "post.edit",
        label,
        before=before,
        after=after,
        at=now,
    )
    after_commit(session, lambda: matcher.add(post))
    return post, True, made


class EditingService:
    """Editing as the Slack handlers need it: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def own_open_post(self, team_id: str, user_id: str, post_id: int | None) -> PostView:
        """The member's own open post, to fill the edit modal; a KmbotError saying why not."""
        with self.context.reading() as session:
            member = member_of(session, team_id, user_id)
            return post_view(editable_post(session, member, post_id))

    def save(
        self,
        team_id: str,
        user_id: str,
        post_id: int,
        new: Draft,
        *,
        ticket: Ticket | None = None,
    ) -> EditedView:
        """Save an edit and tell the member by direct message, in one transaction (which, with
        a ticket from the intake, also marks the stored request done). The post's new matches
        are found before it, in a read-only session."""
        matcher = self.context.live_index
        plan: MatchPlan | None = None
        with self.context.reading() as session:
            post = editable_post(session, member_of(session, team_id, user_id), post_id)
            if post_snapshot(post) != draft_snapshot(new):
                plan = plan_rematch(session, post, new, matcher)
        with self.context.session_factory.begin() as session:
            member = member_of(session, team_id, user_id)
            if member is None:
                raise NeedsCouncil()
            post, changed, made = edit_post(
                session,
                member,
                post_id,
                new,
                settings=self.context.settings,
                matcher=matcher,
                now=self.context.clock(),
                plan=plan,
            )
            view = EditedView(
                post_view(post), changed, tuple(introduction_view(i, session) for i in made)
            )
            outbox.notify_member(
                session,
                member,
                edit_messages.edit_saved(view.post, view.changed, view.introduced),
                kind="edit",
            )
            if ticket is not None:
                ticket.finish(session)
            return view
