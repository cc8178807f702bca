"""Reports: a member flags a kmbot card for the facilitators to review.

A report is an entry in the audit log (action ``post.report``, which ``/km-admin reports``
lists: the facilitators' review list) and a direct message to each facilitator.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput, NotFound
from bot.kernel.settings import Settings
from bot.kernel.text import clean_post_text, has_visible_text
from bot.outbox import enqueue as outbox
from bot.services import audit
from bot.services.admin.facilitators import is_user_id, list_facilitators
from bot.services.context import ServiceContext
from bot.services.views import post_view
from bot.slack import edits as messages
from bot.slack.views import PostView
from storage.models import Post

MAX_NOTE = 500
REPORT_ACTION = "post.report"


def card_post(session: Session, channel: str, ts: str) -> Post | None:
    """The post whose card is the message at (channel, ts), if that message is a kmbot card."""
    if not channel or not ts:
        return None
    return session.scalar(select(Post).where(Post.card_channel == channel, Post.card_ts == ts))


def clean_note(note: str) -> str:
    """A reporter's note, cleaned; InvalidInput (field ``note``) if it is empty or too long."""
    note = clean_post_text(note or "")
    if not has_visible_text(note):
        raise InvalidInput("Please say what's wrong.", field="note")
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"Please keep it under {MAX_NOTE} characters.", field="note")
    return note


def report_post(
    session: Session, reporter: str, post_id: int, note: str, *, settings: Settings, now: datetime
) -> Post:
    """Record a member's report of a post and tell every facilitator; the reporter is thanked."""
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound("That post no longer exists.")
    note = clean_note(note)
    view = post_view(post)
    audit.record(
        session,
        reporter,
        REPORT_ACTION,
        view.label,
        before=None,
        after={"post_id": post.id, "note": note, "status": str(post.status)},
        at=now,
    )
    stored = [m.slack_user_id for m in list_facilitators(session) if m.slack_user_id]
    configured = [u.strip() for u in settings.facilitators if is_user_id(u.strip())]
    for user_id in dict.fromkeys([*stored, *configured]):
        outbox.notify_user(
            session, user_id, messages.report_for_facilitators(view, reporter, note), kind="report"
        )
    outbox.notify_user(session, reporter, messages.report_received(view), kind="report")
    return post


class FlagService:
    """Reports as the Slack handlers need them: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def card(self, channel: str, ts: str) -> PostView | None:
        """The post behind a kmbot card, or None if the message is not one."""
        with self.context.reading() as session:
            post = card_post(session, channel, ts)
            return post_view(post) if post is not None else None

    @staticmethod
    def check_note(note: str) -> str:
        """A reporter's note, checked before the report modal closes (see ``clean_note``)."""
        return clean_note(note)

    def report(self, reporter: str, post_id: int, note: str) -> PostView:
        """Send a report to the facilitators' review list."""
        with self.context.session_factory.begin() as session:
            post = report_post(
                session,
                reporter,
                post_id,
                note,
                settings=self.context.settings,
                now=self.context.clock(),
            )
            return post_view(post)
