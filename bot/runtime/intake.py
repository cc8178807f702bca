"""Durable intake: a signed request is stored before Slack is acknowledged, and the work it
carries is done later, exactly once, by a posting process that survives restarts.

- ``IntakeRoutes``: which requests carry work (a *job*), and the function that does it. Handlers
  register their jobs; the request path only asks which job a body is.
- ``IntakeDesk``: the request path. One short insert per signed request, which is also the
  replay guard (the signature is unique). Nothing else touches the database before the ack.
- ``IntakeProcessor``: takes pending requests oldest first, with a lease so two processes never
  do the same one at once. A job marks its request done in the same transaction as its own
  changes (``Ticket.finish``), so a crash before that commit leaves the request pending and it is
  done again from the start; a crash after it leaves nothing to redo.

A burst queues in the database, not in memory: no member is turned away because others posted at
the same time.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.clock import Clock, utcnow
from storage import intake as rows
from storage.db import after_commit
from storage.models import IntakeRequest

logger = logging.getLogger(__name__)

# Bolt refuses timestamps older than five minutes; remembering twice that is enough.
REPLAY_WINDOW_SECONDS = 5 * 60
# Finished work is kept a day, for the operator's eyes (`/healthz` and the logs name it).
KEEP_FINISHED = timedelta(days=1)
MAX_ATTEMPTS = 5
# How long a claim keeps other processes off a request. Short, so a crashed process's request is
# taken over quickly; safe even if work outlasts it, since only one transaction can finish a
# request (the other rolls back, messages and all).
LEASE_SECONDS = 15.0


class AlreadyDone(Exception):
    """Another process finished this request first: roll this attempt's work back."""


@dataclass(frozen=True)
class Ticket:
    """One stored request to work on: what arrived, and how to mark it done."""

    id: int
    job: str
    body: dict[str, Any]
    received_at: datetime
    attempts: int
    clock: Clock
    # Set once a transaction that finishes the ticket has committed.
    finished: threading.Event = field(default_factory=threading.Event, compare=False)

    def finish(self, session: Session, *, failed: bool = False) -> None:
        """Mark the request done in the caller's transaction (the one with the work's changes);
        raises AlreadyDone if it was finished elsewhere, so that transaction rolls back."""
        status = rows.FAILED if failed else rows.DONE
        if not rows.finish(session, self.id, self.clock(), status=status):
            raise AlreadyDone(self.id)
        after_commit(session, self.finished.set)

    @property
    def last_attempt(self) -> bool:
        """This is the last try before the request is given up on."""
        return self.attempts >= MAX_ATTEMPTS


Job = Callable[[Ticket], None]
GiveUp = Callable[[Ticket, str], None]


@dataclass(frozen=True)
class _Route:
    job: str
    wants: Callable[[dict[str, Any]], bool]
    run: Job
    give_up: GiveUp | None


class IntakeRoutes:
    """Which requests carry work after the ack, and what does it (registered by handlers)."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

    def add(
        self,
        job: str,
        wants: Callable[[dict[str, Any]], bool],
        run: Job,
        *,
        give_up: GiveUp | None = None,
    ) -> None:
        """Requests whose body ``wants`` accepts are stored with their body as ``job``."""
        if any(r.job == job for r in self._routes):
            raise ValueError(f"job {job!r} is registered twice")
        self._routes.append(_Route(job, wants, run, give_up))

    def job_for(self, body: Any) -> str | None:
        """The job a request body carries, if any (pure: this runs before the ack)."""
        if not isinstance(body, dict):
            return None
        for route in self._routes:
            try:
                if route.wants(body):
                    return route.job
            except (KeyError, TypeError, ValueError, AttributeError):
                continue
        return None

    def route(self, job: str) -> _Route | None:
        """The registered route for a job name."""
        return next((r for r in self._routes if r.job == job), None)


@dataclass(frozen=True)
class Taken:
    """A request stored by the desk: its row and the job it carries (None: nothing to do)."""

    id: int
    job: str | None


class IntakeDesk:
    """The request path's one database write: store the request, refusing a replay."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        routes: IntakeRoutes,
        clock: Clock = utcnow,
        *,
        read_session_factory: sessionmaker[Session] | None = None,
    ) -> None:
        self.session_factory = session_factory
        # Counting the queue is a read: on SQLite it must not take the write lock.
        self.read_session_factory = read_session_factory or session_factory
        # The request path uses bare connections: an ORM session costs more than the insert.
        self._engine: Engine = session_factory.kw["bind"]
        self._read_engine: Engine = self.read_session_factory.kw["bind"]
        self.routes = routes
        self.clock = clock

    def take_in(self, key: str | None, request_ts: int, body: Any) -> Taken | None:
        """Store a request; None if its key was stored before (a replay)."""
        job = self.routes.job_for(body)
        try:
            with self._engine.begin() as conn:
                row_id = rows.take_in(
                    conn,
                    key=key[:100] if key else None,
                    request_ts=request_ts,
                    received_at=self.clock(),
                    job=job,
                    body=body if job else None,
                )
        except IntegrityError:
            return None
        return Taken(row_id, job)

    def defer(self, request_id: int, job: str, body: dict[str, Any]) -> bool:
        """Give a stored request work after its listener's checks (before its ack); False if
        it could not be stored, and the caller must do the work itself."""
        try:
            with self.session_factory.begin() as session:
                return rows.defer(session, request_id, job, body)
        except Exception:
            logger.exception("Could not store the work of request %s", request_id)
            return False

    def waiting_before(self, request_id: int) -> int:
        """How many stored requests are still to be done ahead of this one."""
        with self._read_engine.connect() as conn:
            return rows.waiting_before(conn, request_id)


@dataclass
class ProcessReport:
    """What one round of processing did."""

    done: int = 0
    failed: int = 0
    retried: int = 0


class IntakeProcessor:
    """Does the stored requests' work, oldest first; run in the posting process."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        routes: IntakeRoutes,
        *,
        clock: Clock = utcnow,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = 0.25,
        after_work: Callable[[], None] | None = None,
        read_session_factory: sessionmaker[Session] | None = None,
    ) -> None:
        self.session_factory = session_factory
        # Looking for work is a read: polling must not take SQLite's write lock.
        self.read_session_factory = read_session_factory or session_factory
        self.routes = routes
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.after_work = after_work
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._round = threading.Lock()
        self._last_purge = 0.0

    # ------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        """A processing thread is running in this process."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Process in a background thread until ``stop``: woken by ``kick``, or polling."""
        if self.running:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    report = self.process_due()
                    self._purge_now_and_then()
                except Exception:  # the database is down: keep trying, quietly
                    logger.exception("Processing stored requests failed; will try again")
                    report = ProcessReport()
                if not (report.done or report.failed):
                    self._wake.wait(self.poll_seconds)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="kmbot-intake", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Look for work now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the request in hand and stop."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ------------------------------------------------------------ the work
    def process_due(self, limit: int = 50) -> ProcessReport:
        """Do up to ``limit`` pending requests, oldest first."""
        report = ProcessReport()
        with self._round:  # one round at a time per process: requests stay in order
            with self.read_session_factory() as session:
                ids = rows.due_ids(session, self.clock(), limit)
            for request_id in ids:
                if self._stop.is_set() and self.running:
                    break
                self._process_one(request_id, report)
        if (report.done or report.failed) and self.after_work is not None:
            self.after_work()
        return report

    def _process_one(self, request_id: int, report: ProcessReport) -> None:
        ticket = self._claim(request_id)
        if ticket is None:
            return
        route = self.routes.route(ticket.job)
        if route is None:
            logger.error("Stored request %s names unknown work %r", ticket.id, ticket.job)
            self._close(ticket, failed=True)
            report.failed += 1
            return
        try:
            route.run(ticket)
        except AlreadyDone:
            logger.info("Stored request %s was finished by another process", ticket.id)
            return
        except Exception as exc:
            logger.exception("Work for stored request %s (%s) failed", ticket.id, ticket.job)
            error = f"{exc.__class__.__name__}: {exc}"
            if ticket.last_attempt:
                self._give_up(ticket, route, error)
                report.failed += 1
            else:
                self._retry_later(ticket, error)
                report.retried += 1
            return
        # A job with nothing to store (a help text, a refusal) may not have finished its ticket.
        if not ticket.finished.is_set():
            self._close(ticket)
        report.done += 1

    def _claim(self, request_id: int) -> Ticket | None:
        now = self.clock()
        with self.session_factory.begin() as session:
            if not rows.claim(session, request_id, now, self.lease_seconds):
                return None
            row = session.get(IntakeRequest, request_id)
            assert row is not None and row.job is not None
            return Ticket(
                id=row.id,
                job=row.job,
                body=dict(row.body or {}),
                received_at=row.received_at,
                attempts=row.attempts,
                clock=self.clock,
            )

    def _close(self, ticket: Ticket, *, failed: bool = False) -> None:
        status = rows.FAILED if failed else rows.DONE
        with self.session_factory.begin() as session:
            rows.finish(session, ticket.id, self.clock(), status=status)

    def _retry_later(self, ticket: Ticket, error: str) -> None:
        delay = min(60.0, 2.0**ticket.attempts) * random.uniform(0.8, 1.2)
        with self.session_factory.begin() as session:
            rows.release(
                session, ticket.id, error, retry_at=self.clock() + timedelta(seconds=delay)
            )

    def _give_up(self, ticket: Ticket, route: _Route, error: str) -> None:
        logger.error("Giving up on stored request %s (%s): %s", ticket.id, ticket.job, error)
        if route.give_up is not None:
            try:
                route.give_up(ticket, error)
                return
            except AlreadyDone:
                return
            except Exception:
                logger.exception("Could not tell the member about request %s", ticket.id)
        self._close(ticket, failed=True)

    def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._last_purge < 60:
            return
        self._last_purge = time.monotonic()
        now = self.clock()
        with self.session_factory.begin() as session:
            rows.forget(
                session,
                seen_before_ts=int(now.timestamp()) - 2 * REPLAY_WINDOW_SECONDS,
                finished_before=now - KEEP_FINISHED,
            )
