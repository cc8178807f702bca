"""What every service is built with: the database, the settings, the live index, the clock."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.clock import Clock
from bot.kernel.settings import Settings
from bot.live_index import LiveMatchIndex
from bot.reference.councils import CouncilDirectory
from storage import queries
from storage.models import Member


@dataclass(frozen=True)
class ServiceContext:
    """The collaborators a service needs; the container builds one and hands it to each."""

    session_factory: sessionmaker[Session]
    settings: Settings
    live_index: LiveMatchIndex
    directory: CouncilDirectory
    clock: Clock
    # Read-only sessions: on SQLite they never take the write lock (see storage.db).
    read_session_factory: sessionmaker[Session] | None = None

    def reading(self) -> Session:
        """A session for reads only: it never waits for, or holds up, a writer."""
        factory = self.read_session_factory or self.session_factory
        return factory()


def member_of(session: Session, team_id: str, user_id: str, *, lock: bool = False) -> Member | None:
    """The member behind a Slack user, or None if they have never joined or posted."""
    return queries.member_by_slack_id(session, team_id, user_id, lock=lock)
