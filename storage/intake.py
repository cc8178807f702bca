"""Queries on the intake: signed requests stored before the ack, and the work they carry.

Each function takes a session (or, on the request path, a bare connection) first and never
commits (the caller owns the transaction)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import IntakeRequest

SEEN = "seen"
PENDING = "pending"
DONE = "done"
FAILED = "failed"


def take_in(
    session: Session | Connection,
    *,
    key: str | None,
    request_ts: int,
    received_at: datetime,
    job: str | None,
    body: dict[str, Any] | None,
) -> int:
    """Store a request (a single Core insert: this runs before the ack). IntegrityError if a
    request with this key was stored before (a replay). Returns the row's id."""
    result = session.execute(
        _TAKE_IN,
        {
            "request_key": key,
            "request_ts": request_ts,
            "received_at": received_at,
            "status": PENDING if job else SEEN,
            "attempts": 0,
            "job": job or None,
            "body": body if job else None,
        },
    )
    return int(result.inserted_primary_key[0])  # type: ignore[attr-defined]


# Built once: on the request path even compiling an insert is worth saving.
_TAKE_IN = insert(cast(Table, IntakeRequest.__table__))


def defer(session: Session, request_id: int, job: str, body: dict[str, Any]) -> bool:
    """Give a stored request work to do (a form its listener has checked); False if it has
    work already or is gone."""
    result = session.execute(
        update(IntakeRequest)
        .where(IntakeRequest.id == request_id, IntakeRequest.status == SEEN)
        .values(job=job, body=body, status=PENDING)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Pending requests nobody is working on, oldest first."""
    return list(
        session.scalars(
            select(IntakeRequest.id)
            .where(
                IntakeRequest.status == PENDING,
                (IntakeRequest.claimed_until.is_(None)) | (IntakeRequest.claimed_until < now),
            )
            .order_by(IntakeRequest.id)
            .limit(limit)
        )
    )


def claim(session: Session, request_id: int, now: datetime, lease_seconds: float) -> bool:
    """Take a pending request for ``lease_seconds``; False if another process has it or it is
    no longer pending."""
    result = session.execute(
        update(IntakeRequest)
        .where(
            IntakeRequest.id == request_id,
            IntakeRequest.status == PENDING,
            (IntakeRequest.claimed_until.is_(None)) | (IntakeRequest.claimed_until < now),
        )
        .values(
            claimed_until=now + timedelta(seconds=lease_seconds),
            attempts=IntakeRequest.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def finish(session: Session, request_id: int, now: datetime, *, status: str = DONE) -> bool:
    """Mark a request's work done (in the transaction that did the work); False if it was
    already finished, in which case the caller must roll its work back."""
    result = session.execute(
        update(IntakeRequest)
        .where(IntakeRequest.id == request_id, IntakeRequest.status == PENDING)
        .values(status=status, finished_at=now, claimed_until=None, body=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def release(session: Session, request_id: int, error: str, *, retry_at: datetime) -> None:
    """Let go of a request whose work failed, to be tried again at ``retry_at``."""
    session.execute(
        update(IntakeRequest)
        .where(IntakeRequest.id == request_id, IntakeRequest.status == PENDING)
        .values(claimed_until=retry_at, last_error=error[:500])
        .execution_options(synchronize_session=False)
    )


def waiting_before(session: Session | Connection, request_id: int) -> int:
    """How many pending requests arrived before this one."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(IntakeRequest)
            .where(IntakeRequest.status == PENDING, IntakeRequest.id < request_id)
        )
        or 0
    )


def forget(session: Session, *, seen_before_ts: int, finished_before: datetime) -> int:
    """Drop replay records older than any request Bolt would still accept, and finished work
    older than ``finished_before``; pending work is never dropped."""
    gone = session.execute(
        delete(IntakeRequest).where(
            IntakeRequest.status == SEEN, IntakeRequest.request_ts < seen_before_ts
        )
    )
    done = session.execute(
        delete(IntakeRequest).where(
            IntakeRequest.status.in_((DONE, FAILED)),
            IntakeRequest.finished_at < finished_before,
            IntakeRequest.request_ts < seen_before_ts,
        )
    )
    return int(getattr(gone, "rowcount", 0) or 0) + int(getattr(done, "rowcount", 0) or 0)
