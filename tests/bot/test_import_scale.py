"""Importing workshops that name many people: members found by email key, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from bot.container import Container, build_container
from bot.kernel.settings import Settings
from bot.services.membership import council_for, ensure_reference_councils, join_member
from bot.services.workshop_csv import ParsedWorkshop, WorkshopRow, parse_workshop
from bot.services.workshop_import import import_workshop
from storage.models import Member, Post

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "workshops"
COUNCILS = ("Devon County Council", "Kent County Council", "Wiltshire Council")


@pytest.fixture
def services(database_url: str) -> Iterator[Container]:
    svc = build_container(Settings(database_url=database_url, marketplace_channel="C0MARKET"))
    yield svc
    svc.close()


def _workshop(rows: list[tuple[str, str, str]]) -> ParsedWorkshop:
    """Rows of (council, name, email), each with a text of its own."""
    return ParsedWorkshop(
        rows=[
            WorkshopRow(
                line=n + 2,
                council=council,
                name=name,
                email=email,
                kind="want" if n % 2 else "offer",
                text=f"Information asset register template number {n}",
            )
            for n, (council, name, email) in enumerate(rows)
        ]
    )


def _members(svc: Container) -> dict[str, tuple[int, str | None, int | None]]:
    with svc.session_factory() as s:
        return {
            m.email_key or "": (m.id, m.name, m.council_id)
            for m in s.scalars(select(Member).order_by(Member.id))
        }


def test_an_import_finds_the_member_whose_email_differs_only_in_case_and_spaces(
    services: Container,
) -> None:
    with services.session_factory.begin() as s:
        ensure_reference_councils(s, services.directory)
        devon = council_for(s, "Devon County Council", services.directory)
        kent = council_for(s, "Kent County Council", services.directory)
        assert devon is not None and kent is not None
        # One joined from Slack, one left by an earlier import typed with capitals and spaces.
        jo = join_member(
            s, team_id="T1", user_id="U1", council=devon.council, email="Jo.Bloggs@Devon.GOV.uk"
        ).id
        raj = Member(slack_team_id="", name="Raj", email="  RAJ.SHAH@kent.gov.uk ")
        raj.council_id = kent.council.id
        s.add(raj)
        s.flush()
        raj_id = raj.id
    at = datetime(2026, 2, 28, 9, 30, tzinfo=UTC)
    with services.session_factory.begin() as s:
        summary = import_workshop(
            s, parse_workshop(FIXTURES / "good.csv"), services.directory, now=at
        )
    assert summary.added == 4
    assert summary.new_members == 2  # Sam and Ann; Jo and Raj were already members
    with services.session_factory() as s:
        authors = {
            p.text: p.member_id for p in s.scalars(select(Post).where(Post.source == "workshop"))
        }
        assert authors["Information asset register (IAR) template"] == jo
        assert authors["How to start an IAR"] == raj_id
        assert s.scalar(select(func.count()).select_from(Member)) == 4
        stored = s.scalars(select(Post).where(Post.id.in_(summary.post_ids))).all()
        assert sorted(p.id for p in stored) == sorted(summary.post_ids)
        assert {(p.created_at, p.expires_at, p.source) for p in stored} == {
            (at, at + timedelta(days=90), "workshop")
        }
        # post_ids come in file order.
        texts = [s.get(Post, pid).text for pid in summary.post_ids]  # type: ignore[union-attr]
        assert texts[0] == "Information asset register (IAR) template"
        assert texts[-1] == "How to start an IAR"


def test_many_people_over_several_batches_are_each_one_member(services: Container) -> None:
    # 4,500 rows (three batches of the import) from 3,000 people: person n writes rows n and,
    # for the first 1,500, n + 3,000 (in another batch, typed in capitals).
    people = 3000
    rows = []
    for n in range(4500):
        person = n % people
        email = f"person{person}@example.gov.uk"
        rows.append(
            (
                COUNCILS[n % 3],
                f"Person {person}" if n < people else f"Renamed {person}",
                email if n < people else f" {email.upper()} ",
            )
        )
    statements: list[str] = []
    engine = services.session_factory.kw["bind"]

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with services.session_factory.begin() as s:
            summary = import_workshop(s, _workshop(rows), services.directory)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert summary.added == 4500 and summary.new_members == people
    # Members are looked up and added in batches: a few dozen statements, not one per row.
    on_members = [s for s in statements if "members" in s.lower()]
    assert len(on_members) < 60, len(on_members)
    members = _members(services)
    assert len(members) == people
    with services.session_factory() as s:
        council_of = {
            name: council_for(s, name, services.directory, create=False).council.id  # type: ignore[union-attr]
            for name in COUNCILS
        }
        # Each person is named, and placed in the council, as on the first row naming them.
        for person in (0, 1, 1499, 1500, 2999):
            _id, name, council_id = members[f"person{person}@example.gov.uk"]
            assert name == f"Person {person}"
            assert council_id == council_of[COUNCILS[person % 3]]
        authors = {t: m for t, m in s.execute(select(Post.text, Post.member_id))}
    for n in (0, 2999, 3000, 4499):
        member_id = members[f"person{n % people}@example.gov.uk"][0]
        assert authors[f"Information asset register template number {n}"] == member_id
    # Importing again adds nothing; a later workshop by the same people adds no members.
    with services.session_factory.begin() as s:
        again = import_workshop(s, _workshop(rows), services.directory)
    assert (again.added, again.already_imported, again.new_members) == (0, 4500, 0)
    later = _workshop([(COUNCILS[0], "P", f"PERSON{n}@example.gov.uk") for n in range(0, 3000, 7)])
    later.rows[:] = [
        WorkshopRow(r.line, r.council, r.name, r.email, r.kind, r.text + " (later)")
        for r in later.rows
    ]
    with services.session_factory.begin() as s:
        third = import_workshop(s, later, services.directory)
    assert third.added == len(later.rows) and third.new_members == 0
    assert len(_members(services)) == people


def test_rows_without_an_email_are_a_member_each(services: Container) -> None:
    with services.session_factory.begin() as s:
        summary = import_workshop(
            s,
            _workshop(
                [
                    (COUNCILS[0], "Anon", ""),
                    (COUNCILS[0], "Anon", ""),
                    (COUNCILS[1], "B", "b@x.org"),
                ]
            ),
            services.directory,
        )
    assert summary.added == 3 and summary.new_members == 3
