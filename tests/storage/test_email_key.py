"""Members' email key: filled by migration 0006, kept in step with the email, erased with it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import NullPool, select, text
from sqlalchemy.engine import make_url

from bot.kernel.settings import normalise_database_url
from bot.reference.councils import CouncilDirectory
from bot.services.membership import council_for, ensure_reference_councils, join_member
from bot.services.privacy import forget_member
from storage import db, queries
from storage.models import Member

PG_URL = os.environ.get("KMBOT_TEST_DATABASE_URL", "").strip()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own (the migration test moves it between revisions)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'at-0005.sqlite3'}"
        return
    if not PG_URL:
        pytest.skip("KMBOT_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    base = make_url(normalise_database_url(PG_URL))
    name = f"kmbot_test_email_key_{uuid.uuid4().hex[:8]}"
    admin = db.make_engine(
        base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrading_from_0005_fills_the_key_of_every_stored_email(empty_url: str) -> None:
    db.upgrade(empty_url, "0005")
    engine = db.make_engine(empty_url)
    try:
        with engine.begin() as conn:
            for email in ("  Jo.Bloggs@Devon.GOV.uk ", "sam@lewisham.gov.uk", None, ""):
                conn.execute(
                    text(
                        "INSERT INTO members (slack_team_id, name, email, role, created_at) "
                        "VALUES ('', 'Someone', :email, 'practitioner', CURRENT_TIMESTAMP)"
                    ),
                    {"email": email},
                )
        db.upgrade(empty_url)
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT email, email_key FROM members ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [
            ("  Jo.Bloggs@Devon.GOV.uk ", "jo.bloggs@devon.gov.uk"),
            ("sam@lewisham.gov.uk", "sam@lewisham.gov.uk"),
            (None, None),
            ("", None),
        ]
        # The app finds the migrated member by the key, whatever case it is asked in.
        with db.make_session_factory(engine)() as session:
            found = queries.member_by_email(session, "JO.BLOGGS@devon.gov.uk")
            assert found is not None and found.email == "  Jo.Bloggs@Devon.GOV.uk "
    finally:
        engine.dispose()


def test_the_migration_goes_down_to_0005_and_back(empty_url: str) -> None:
    db.upgrade(empty_url)
    from alembic import command

    command.downgrade(db.alembic_config(empty_url), "0005")
    engine = db.make_engine(empty_url)
    try:
        assert db.current_revision(engine) == "0005"
        with engine.connect() as conn:
            columns = [
                r[0]
                for r in conn.execute(text("SELECT * FROM members WHERE 1 = 0")).cursor.description
            ]
        assert "email_key" not in columns
    finally:
        engine.dispose()
    db.upgrade(empty_url)


def test_the_key_follows_the_email_and_is_erased_with_it(database_url: str) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    directory = CouncilDirectory.reference()
    try:
        with factory.begin() as s:
            ensure_reference_councils(s, directory)
            choice = council_for(s, "Devon County Council", directory)
            assert choice is not None
            member = join_member(
                s, team_id="T1", user_id="U1", council=choice.council, email=" Jo@Devon.GOV.uk"
            )
            assert member.email_key == "jo@devon.gov.uk"
            member.email = "Joanna@Devon.gov.uk"
            assert member.email_key == "joanna@devon.gov.uk"
            assert Member(email="  ").email_key is None
            assert Member(email=None).email_key is None
            member_id = member.id
        with factory.begin() as s:
            found = queries.member_by_email(s, "  JOANNA@devon.gov.uk  ")
            assert found is not None and found.id == member_id
            forget_member(s, found)
        with factory() as s:
            stored = s.execute(
                select(Member.email, Member.email_key).where(Member.id == member_id)
            ).one()
            assert tuple(stored) == (None, None)
            assert queries.member_by_email(s, "joanna@devon.gov.uk") is None
    finally:
        engine.dispose()


def test_a_slack_user_claims_the_workshop_member_whose_email_differs_in_case(
    database_url: str,
) -> None:
    engine = db.make_engine(database_url)
    factory = db.make_session_factory(engine)
    directory = CouncilDirectory.reference()
    try:
        with factory.begin() as s:
            ensure_reference_councils(s, directory)
            choice = council_for(s, "Kent County Council", directory)
            assert choice is not None
            s.add(Member(slack_team_id="", name="Raj", email="Raj.Shah@kent.gov.uk "))
            s.flush()
            workshop_id = s.scalar(select(Member.id))
            joined = join_member(
                s, team_id="T1", user_id="U9", council=choice.council, email="raj.shah@KENT.gov.uk"
            )
            assert joined.id == workshop_id
            assert joined.email_key == "raj.shah@kent.gov.uk"
    finally:
        engine.dispose()
