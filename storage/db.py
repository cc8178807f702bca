"""Engines, sessions and schema upgrades."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

# An execution option marking a read-only engine (its SQLite transactions begin deferred).
READ_ONLY = "kmbot_read_only"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        file_backed = ":memory:" not in url and url not in ("sqlite://", "sqlite:///")
        kwargs.setdefault(
            "connect_args",
            {"timeout": 30, "check_same_thread": False, "factory": _TurnTakingConnection},
        )
        engine = create_engine(url, **kwargs)
        turn = _WriteTurn(str(engine.url.database)) if file_backed else None

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, begin transactions (see _begin_immediate).
            dbapi_connection.isolation_level = None
            if isinstance(dbapi_connection, _TurnTakingConnection):
                dbapi_connection.turn = turn
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front: a transaction that reads, then writes after another
            # writer committed, would fail in WAL mode instead of waiting its turn. A read-only
            # session (make_read_session_factory) begins deferred: it reads a snapshot and
            # neither waits for nor holds up a writer.
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            dbapi_connection = conn.connection.dbapi_connection
            if isinstance(dbapi_connection, _TurnTakingConnection):
                dbapi_connection.take_turn()
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class _WriteTurn:
    """Writers to one SQLite file take turns through an operating-system file lock.

    SQLite's own busy handler waits for its write lock by sleeping in steps of up to 100 ms, so
    under a stream of short write transactions (the posting process) an acknowledgement's one
    insert could wait far longer than any transaction lasts. Here a waiting writer, in any
    process, sleeps in ``flock`` and is woken the moment the lock is released; SQLite's lock is
    then free. One thread per process waits in ``flock``; the others wait their turn on a
    thread lock (for at most the busy timeout, after which SQLite's own waiting applies)."""

    def __init__(self, database: str) -> None:
        self._thread_lock = threading.Lock()
        self._fd = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT, 0o600)

    def acquire(self, timeout: float = 30.0) -> bool:
        if not self._thread_lock.acquire(timeout=timeout):
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            self._thread_lock.release()
            return False
        return True

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class _TurnTakingConnection(sqlite3.Connection):
    """A SQLite connection that holds its database's write turn from ``BEGIN IMMEDIATE`` until
    the transaction ends (commit, rollback or close)."""

    turn: _WriteTurn | None = None
    _holding = False

    def take_turn(self) -> None:
        if self.turn is not None and not self._holding:
            self._holding = self.turn.acquire()

    def _give_turn_back(self) -> None:
        if self._holding and self.turn is not None:
            self._holding = False
            self.turn.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_turn_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_turn_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_turn_back()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory; callers own transactions with ``factory.begin()``."""
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory for reads only: on SQLite its transactions take no write lock, so a
    slow read (matching at 100,000 posts) never stalls a writer, nor waits for one."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def alembic_config(url: str) -> Any:
    """An Alembic config pointing at our migrations and the given database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (the latest by default)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None if it has none."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this version of kmbot."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def is_current(engine: Engine) -> bool:
    """True when the database schema is at the newest revision."""
    return current_revision(engine) == head_revision()


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's transaction commits (never if it rolls back)."""

    def committed(_session: Session) -> None:
        event.remove(session, "after_soft_rollback", rolled_back)
        action()

    def rolled_back(_session: Session, _previous: Any) -> None:
        event.remove(session, "after_commit", committed)

    event.listen(session, "after_commit", committed, once=True)
    event.listen(session, "after_soft_rollback", rolled_back, once=True)
