"""Shared pieces of the benchmarks: databases of their own, seeding, timing, plain-text tables.

Every benchmark creates its own database (a temporary SQLite file, or a PostgreSQL database named
``kmbot_bench_*`` that it drops afterwards) and never touches any other.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from bench.corpus import PostGenerator  # noqa: E402

# The server the benchmarks may use; the database named in it is only used to create their own.
PG_ADMIN_URL = os.environ.get(
    "KMBOT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ENGINES = ("sqlite", "postgresql")


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100.0 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """The median; 0.0 for no values."""
    return statistics.median(values) if values else 0.0


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=True))
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def machine_note() -> str:
    """CPU count and load average: the figures depend on what else the machine is doing."""
    try:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    at = time.strftime("%H:%M:%S")
    return f"{os.cpu_count()} CPUs, load average {load} (1, 5, 15 min) at {at}"


def sizes(text: str) -> list[int]:
    """Parse a size list such as ``1000,10000,100000`` (``k`` for thousands allowed)."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if part:
            out.append(int(float(part[:-1]) * 1000) if part.endswith("k") else int(part))
    return out


@contextmanager
def bench_database(engine: str, tag: str) -> Iterator[str]:
    """A fresh, migrated database of the benchmark's own; removed afterwards."""
    from storage import db

    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="kmbot-bench-") as tmp:
            url = f"sqlite:///{tmp}/{tag}.sqlite3"
            db.upgrade(url)
            yield url
        return
    if engine != "postgresql":
        raise ValueError(f"unknown database engine {engine!r}")
    name = f"kmbot_bench_{tag}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        try:
            db.upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def seed_open_posts(url: str, count: int, *, seed: int = 7, age_hours: float = 1.0) -> int:
    """Bulk-insert ``count`` open posts by workshop members of many councils; returns count.

    The posts are stamped ``age_hours`` ago, as a store's posts are: not all changed this minute.
    """
    from bot.reference.councils import CouncilDirectory
    from bot.services.membership import ensure_reference_councils
    from storage import db
    from storage.models import Council, Member, Post, PostKind, PostStatus, Role, utcnow

    engine = db.make_engine(url)
    factory = db.make_session_factory(engine)
    gen = PostGenerator(seed)
    try:
        with factory.begin() as session:
            ensure_reference_councils(session, CouncilDirectory.reference())
        with factory.begin() as session:
            councils = {c.name: c.id for c in session.query(Council)}
            members: dict[str, int] = {}
            for name, council_id in councils.items():
                member = Member(
                    slack_team_id="",
                    slack_user_id=None,
                    name=f"Agent of {name}",
                    email=None,
                    council_id=council_id,
                    role=Role.PRACTITIONER,
                )
                session.add(member)
                session.flush()
                members[name] = member.id
        stamp = utcnow() - timedelta(hours=age_hours)
        expires = stamp + timedelta(days=90)
        names = list(councils)
        table_ = Post.__table__
        done = 0
        while done < count:
            rows = []
            for _ in range(min(5000, count - done)):
                post = gen.post()
                name = post.council if post.council in councils else names[done % len(names)]
                rows.append(
                    {
                        "kind": PostKind(post.kind),
                        "member_id": members[name],
                        "council_id": councils[name],
                        "text": post.text,
                        "area": post.area,
                        "purpose": None,
                        "link": None,
                        "status": PostStatus.OPEN,
                        "source": "workshop",
                        "fingerprint": None,
                        "created_at": stamp,
                        "refreshed_at": stamp,
                        "expires_at": expires,
                        "changed_at": stamp,
                    }
                )
                done += 1
            with engine.begin() as conn:
                conn.execute(insert(table_), rows)  # type: ignore[arg-type]
        return done
    finally:
        engine.dispose()


def join_slack_members(url: str, users: Sequence[str], team_id: str) -> None:
    """Join Slack users to councils directly through the membership service."""
    from bot.reference.councils import CouncilDirectory
    from bot.services.membership import ensure_reference_councils, join_member
    from storage import db
    from storage.models import Council

    engine = db.make_engine(url)
    factory = db.make_session_factory(engine)
    try:
        with factory.begin() as session:
            ensure_reference_councils(session, CouncilDirectory.reference())
            councils = list(session.query(Council).order_by(Council.id).limit(200))
            for n, user in enumerate(users):
                join_member(
                    session,
                    team_id=team_id,
                    user_id=user,
                    council=councils[n % len(councils)],
                    name=f"Bench member {n}",
                    email=f"bench{n}@example.gov.uk",
                )
    finally:
        engine.dispose()
