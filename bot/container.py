"""The container: every service the handlers and jobs need, wired explicitly, built once."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.kernel.clock import Clock, utcnow
from bot.kernel.settings import ConfigError, Settings
from bot.live_index import LiveMatchIndex
from bot.matching import Glossary, GlossaryError
from bot.outbox.delivery import Deliverer, make_client
from bot.reference.councils import CouncilDirectory
from bot.reports.outputs import classifier as service_area_classifier
from bot.runtime.intake import IntakeDesk, IntakeProcessor, IntakeRoutes
from bot.services.admin.service import AdminService
from bot.services.away import AwayService
from bot.services.closing import ClosingService
from bot.services.context import ServiceContext
from bot.services.editing import EditingService
from bot.services.flags import FlagService
from bot.services.followups import FollowUpService
from bot.services.introductions import IntroductionService
from bot.services.membership import MembershipService
from bot.services.posting import PostingService
from bot.services.privacy import PrivacyService
from bot.services.search import BrowsingService
from bot.services.sessions import SessionService
from bot.services.welcome import WelcomeService
from storage import db

logger = logging.getLogger(__name__)


@dataclass
class Container:
    """The product's collaborators, wired together once; handlers and jobs reach everything
    through it. ``deliverer`` and ``work_pool`` are read at call time (tests swap them).

    ``intake_routes`` are filled in by the handlers (which requests carry work after the ack);
    ``intake_desk`` stores requests before the ack and ``intake`` does their work, in whichever
    process posts (``kmbot posting``, or a thread of ``kmbot serve``)."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session] | None
    directory: CouncilDirectory
    live_index: LiveMatchIndex
    clock: Clock
    deliverer: Deliverer
    # Where stored work runs when no posting thread or process does (tests, the sandbox).
    work_pool: Executor | None
    intake_routes: IntakeRoutes
    intake_desk: IntakeDesk
    intake: IntakeProcessor
    posting: PostingService
    membership: MembershipService
    introductions: IntroductionService
    closing: ClosingService
    browsing: BrowsingService
    privacy: PrivacyService
    admin: AdminService
    sessions: SessionService
    editing: EditingService
    flags: FlagService
    follow_ups: FollowUpService
    away: AwayService
    welcomes: WelcomeService

    def read_session(self) -> Session:
        """A session for reads only (on SQLite it takes no write lock)."""
        factory = self.read_session_factory or self.session_factory
        return factory()

    def close(self) -> None:
        """Stop delivering and release database connections."""
        self.intake.stop()
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


def build_container(settings: Settings, *, clock: Clock | None = None) -> Container:
    """Connect to the database (upgrading an embedded one) and build every service."""
    engine = db.make_engine(settings.database_url)
    try:
        prepare_database(settings, engine)
        glossary = network_glossary(settings)
    except ConfigError:
        engine.dispose()
        raise
    live_index = LiveMatchIndex(
        glossary,
        intro_threshold=settings.intro_threshold,
        candidate_threshold=settings.candidate_threshold,
        max_intros=settings.max_intros,
    )
    session_factory = db.make_session_factory(engine)
    context = ServiceContext(
        session_factory=session_factory,
        settings=settings,
        live_index=live_index,
        directory=CouncilDirectory.reference(),
        clock=clock or utcnow,
        read_session_factory=db.make_read_session_factory(engine),
    )
    routes = IntakeRoutes()
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        read_session_factory=context.read_session_factory,
        directory=context.directory,
        live_index=live_index,
        clock=context.clock,
        deliverer=Deliverer(
            make_client(settings.slack_bot_token, settings.slack_api_url, retries=False),
            session_factory,
            read_session_factory=context.read_session_factory,
        ),
        work_pool=None,
        intake_routes=routes,
        intake_desk=IntakeDesk(
            session_factory,
            routes,
            context.clock,
            read_session_factory=context.read_session_factory,
        ),
        intake=IntakeProcessor(
            session_factory,
            routes,
            clock=context.clock,
            read_session_factory=context.read_session_factory,
        ),
        posting=PostingService(context),
        membership=MembershipService(context),
        introductions=IntroductionService(context),
        closing=ClosingService(context),
        browsing=BrowsingService(context),
        privacy=PrivacyService(context),
        admin=AdminService(context),
        sessions=SessionService(context),
        editing=EditingService(context),
        flags=FlagService(context),
        follow_ups=FollowUpService(context),
        away=AwayService(context),
        welcomes=WelcomeService(context),
    )
    # Built once per process, before any post needs it (not inside a publishing transaction).
    service_area_classifier(container.live_index.glossary)
    # Cards and confirmations a round of posting owes go out straight after it.
    container.intake.after_work = lambda: container.deliverer.kick()
    return container
