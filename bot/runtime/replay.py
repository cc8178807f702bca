"""Refusing replayed Slack requests: each signature is accepted once, in every web process."""

from __future__ import annotations

import time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage import queries

# Bolt refuses timestamps older than five minutes; remembering twice that is enough.
REPLAY_WINDOW_SECONDS = 5 * 60
_PURGE_EVERY_SECONDS = 60


class ReplayGuard:
    """Remembers signed requests in the database, so a replay to another process is refused."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self._last_purge = 0.0

    def accept(self, signature: str, timestamp: str, *, now: float | None = None) -> bool:
        """Record a signed request; False if it was seen before (a replay) or is malformed."""
        try:
            request_ts = int(timestamp)
        except ValueError:
            return False
        now = time.time() if now is None else now
        try:
            with self.session_factory.begin() as session:
                # Old signatures are forgotten about once a minute, not on every request.
                if now - self._last_purge > _PURGE_EVERY_SECONDS:
                    self._last_purge = now
                    queries.forget_requests_before(session, int(now) - 2 * REPLAY_WINDOW_SECONDS)
                queries.remember_request(session, signature[:100], request_ts)
        except IntegrityError:
            return False
        return True
