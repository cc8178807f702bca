"""The services container: everything the handlers and jobs need, built once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.settings import ConfigError, Settings
from bot.live_index import MarketMatcher
from bot.matching.glossary import Glossary
from bot.outbox.delivery import Deliverer
from bot.reference.councils import CouncilDirectory
from storage import db
from storage.models import utcnow

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """The product's collaborators, wired together by the composition root."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    directory: CouncilDirectory
    matcher: MarketMatcher
    clock: Callable[[], datetime] = field(default=utcnow)
    deliverer: Deliverer | None = None
    # Where listeners do their slow work once they have acknowledged Slack (bot/workpool.py).
    work_pool: Executor | None = None
    # Listener objects other listeners reuse (e.g. "I can help" publishes through posting).
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        """Stop delivering and release database connections."""
        if self.deliverer is not None:
            self.deliverer.stop()
        if self.work_pool is not None:
            self.work_pool.shutdown(wait=True)
        self.engine.dispose()


def prepare_database(settings: Settings, engine: Engine) -> None:
    """Bring an embedded SQLite database up to date; insist PostgreSQL was migrated."""
    if db.is_current(engine):
        return
    if engine.dialect.name == "sqlite":
        logger.info("Bringing the SQLite database up to date")
        db.upgrade(settings.database_url)
        return
    raise ConfigError(
        "The database schema is not up to date. Run `kmbot db upgrade` (the Procfile's release "
        "step does this on deploy)."
    )


def network_glossary(settings: Settings) -> Glossary:
    """The shipped glossary, with the facilitators' own rows (``KMBOT_GLOSSARY``) on top."""
    from bot.matching.glossary import Glossary, GlossaryError

    glossary = Glossary.default()
    if not settings.glossary_file:
        return glossary
    try:
        extra = Glossary.from_csv(settings.glossary_file)
    except FileNotFoundError:
        raise ConfigError(
            f"KMBOT_GLOSSARY names {settings.glossary_file}, which does not exist."
        ) from None
    except (GlossaryError, KeyError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"KMBOT_GLOSSARY ({settings.glossary_file}) is not a term,expansion,kind CSV "
            f"file: {exc}"
        ) from None
    return glossary.merged(extra.rows)


def build_services(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> Services:
    """Connect to the database (upgrading an embedded one) and build the services."""
    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(settings, engine)
    except ConfigError:
        engine.dispose()
        raise
    try:
        glossary = network_glossary(settings)
    except ConfigError:
        engine.dispose()
        raise
    matcher = MarketMatcher(
        glossary,
        intro_threshold=settings.intro_threshold,
        candidate_threshold=settings.candidate_threshold,
        max_intros=settings.max_intros,
    )
    return Services(
        settings=settings,
        engine=engine,
        session_factory=db.make_session_factory(engine),
        directory=CouncilDirectory.reference(),
        matcher=matcher,
        clock=clock or utcnow,
    )
