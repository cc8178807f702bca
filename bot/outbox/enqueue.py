"""The outbox: messages owed to Slack, written in the same transaction as their cause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import Member, OutboxMessage, OutboxStatus, utcnow


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    channel: str | None = None,
    method: str = "chat.postMessage",
    parent: OutboxMessage | None = None,
    thread_ts: str | None = None,
    dedupe_key: str | None = None,
    post_id: int | None = None,
    introduction_id: int | None = None,
    not_before: datetime | None = None,
    new_cause: bool = False,
) -> OutboxMessage:
    """Owe Slack a message; with ``parent``, it is posted in the thread of the parent's message.

    ``new_cause``: the message is for something created in this transaction (a new post's card,
    a new introduction), so nothing can have owed it before: the look-up by ``dedupe_key`` is
    skipped (the key's unique constraint still stands)."""
    if dedupe_key is not None and not new_cause:
        existing = session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return existing
    msg = OutboxMessage(
        kind=kind,
        method=method,
        channel=channel,
        payload=payload,
        parent_id=parent.id if parent is not None else None,
        thread_ts=thread_ts,
        dedupe_key=dedupe_key,
        post_id=post_id,
        introduction_id=introduction_id,
        status=OutboxStatus.PENDING,
        next_attempt_at=not_before or utcnow(),
    )
    if parent is not None and parent.id is None:
        session.flush()
        msg.parent_id = parent.id
    session.add(msg)
    session.flush()
    return msg


def owe_update(
    session: Session,
    parent: OutboxMessage,
    payload: dict[str, Any],
    *,
    kind: str,
    now: datetime,
    post_id: int | None = None,
    introduction_id: int | None = None,
) -> None:
    """Owe Slack ``parent``'s message as ``payload`` shows it (a ``chat.update``).

    Every update still waiting (none is on its way to Slack this moment) is given the news, so
    an older one retried late never lands with older news. If none is waiting, or only ones
    tried before (a sender whose claim ran out may still be sending the older news), a new
    update follows them."""
    attempts = session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.parent_id == parent.id,
            OutboxMessage.method == "chat.update",
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        )
        .values(payload=payload)
        .returning(OutboxMessage.attempts)
        .execution_options(synchronize_session=False)
    ).all()
    if 0 in attempts:
        return  # never tried: it goes with the news
    enqueue(
        session,
        kind=kind,
        method="chat.update",
        parent=parent,
        payload=payload,
        post_id=post_id,
        introduction_id=introduction_id,
    )


def owe_as_now(
    session: Session,
    msg: OutboxMessage,
    payload: dict[str, Any],
    *,
    update_kind: str,
    post_id: int | None = None,
    introduction_id: int | None = None,
) -> None:
    """Owe Slack ``msg`` as ``payload`` shows it now. Not sent yet, and not on its way to Slack
    this moment: it goes as it now reads. Sent, or being sent (the sender has the older
    version): an update follows it. Never delivered (failed): nothing in Slack to change."""
    now = utcnow()  # claims are real time: a sender's claim runs by the wall clock
    msg.payload = payload  # our copy is the message as it now reads, for the next change to it
    if msg.status == OutboxStatus.PENDING:
        if msg.claimed_until is None or msg.claimed_until <= now:
            return
    elif msg.status != OutboxStatus.SENT:
        return
    owe_update(
        session,
        msg,
        payload,
        kind=update_kind,
        now=now,
        post_id=post_id,
        introduction_id=introduction_id,
    )


def card_message(session: Session, post_id: int) -> OutboxMessage | None:
    """The outbox row of a post's marketplace card, if it has one."""
    return session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.post_id == post_id, OutboxMessage.kind == "card")
        .order_by(OutboxMessage.id)
        .limit(1)
    )


def notify_member(
    session: Session, member: Member, payload: dict[str, Any], *, kind: str = "notice"
) -> None:
    """Owe a member a direct message (delivered and retried like everything else)."""
    if member.slack_user_id:
        notify_user(session, member.slack_user_id, payload, kind=kind)


def notify_user(
    session: Session, slack_user_id: str, payload: dict[str, Any], *, kind: str = "notice"
) -> None:
    """Owe a Slack user a direct message, whether or not they have joined yet."""
    enqueue(session, kind=kind, channel=slack_user_id, payload=payload)


def respond(
    session: Session,
    response_url: str,
    payload: dict[str, Any],
    *,
    kind: str = "notice",
) -> None:
    """Owe an ephemeral reply on a slash command's response URL (where the member typed)."""
    enqueue(
        session,
        kind=kind,
        method="response_url",
        payload={
            **payload,
            "response_type": "ephemeral",
            "replace_original": False,
            "response_url": response_url,
        },
    )
