"""Councils and members in the store: seeding the directory, resolving, joining."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Table, bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.kernel.errors import InvalidInput
from bot.outbox import enqueue as outbox
from bot.reference.councils import CouncilDirectory, CouncilRecord, Resolution
from bot.services.context import ServiceContext
from bot.services.posting import Draft, take_drafts
from bot.slack import members as member_messages
from storage import queries
from storage.models import Council, Member, Role, utcnow

logger = logging.getLogger(__name__)

_MEMBERS: Table = Member.__table__  # type: ignore[assignment]


def seed_reference_councils(session: Session, records: list[CouncilRecord]) -> int:
    """Store every reference council not yet stored; returns how many were added."""
    known_codes = set(session.scalars(select(Council.code).where(Council.code.is_not(None))))
    known_names = {n.lower() for n in session.scalars(select(Council.name))}
    added = 0
    for rec in records:
        if (rec.code and rec.code in known_codes) or rec.name.lower() in known_names:
            continue
        session.add(council_from_record(rec))
        known_names.add(rec.name.lower())
        added += 1
    session.flush()
    return added


def council_from_record(rec: CouncilRecord) -> Council:
    """A new stored council from a reference record."""
    return Council(
        name=rec.name,
        short_name=rec.short_name,
        code=rec.code,
        gss_code=rec.gss_code,
        nation=rec.nation,
        region=rec.region,
        type=rec.type,
        web_domain=rec.web_domain,
        other_names=list(rec.alt_names),
        is_reference=True,
    )


def ensure_reference_councils(session: Session, directory: CouncilDirectory) -> None:
    """Seed the council table once, the first time it is needed."""
    if not session.scalar(select(func.count()).select_from(Council).where(Council.is_reference)):
        try:
            with session.begin_nested():
                seed_reference_councils(session, list(directory.records))
        except IntegrityError:
            # Another request seeded them at the same moment; theirs will do.
            logger.info("Reference councils were seeded concurrently")


class AmbiguousCouncil(InvalidInput):
    """What was typed could be any of several councils."""

    def __init__(self, typed: str, names: list[str]) -> None:
        self.names = names
        listed = "; ".join(names[:5])
        super().__init__(
            f"“{typed}” could be more than one council ({listed}). Please give the full name."
        )


@dataclass
class CouncilChoice:
    """The outcome of turning what someone typed into a stored council."""

    council: Council
    created: bool
    how: str


def council_for(
    session: Session, typed: str, directory: CouncilDirectory, *, create: bool = True
) -> CouncilChoice | None:
    """The stored council for what someone typed; an unknown one is added if ``create``."""
    typed = " ".join(typed.split())
    if not typed:
        raise InvalidInput("Please give the name of your council.")
    if len(typed) > 200:
        raise InvalidInput("That council name is too long (200 characters at most).")
    stored = queries.council_by_name(session, typed)
    if stored is not None:
        return CouncilChoice(_live(session, stored), False, "exact")
    res: Resolution = directory.resolve(typed)
    if res.record is not None:
        council = _stored_for_record(session, res.record)
        return CouncilChoice(council, False, res.how)
    if res.how == "ambiguous" and res.candidates:
        raise AmbiguousCouncil(typed, [c.name for c in res.candidates])
    # Someone may have added this (non-reference) council before under a close spelling.
    extra = _match_non_reference(session, typed)
    if extra is not None:
        return CouncilChoice(extra, False, "earlier entry")
    if not create:
        return None
    council = Council(name=typed, short_name=_short(typed), other_names=[], is_reference=False)
    try:
        with session.begin_nested():
            session.add(council)
            session.flush()
    except IntegrityError:
        # Someone added the same new council a moment ago: use theirs.
        existing = queries.council_by_name(session, typed)
        if existing is None:
            raise
        return CouncilChoice(_live(session, existing), False, "earlier entry")
    logger.info("Added a council not in the reference list: %s", typed)
    return CouncilChoice(council, True, "new")


def _live(session: Session, council: Council) -> Council:
    # A council merged by a facilitator points at the record that survived.
    seen = 0
    while council.merged_into_id is not None and seen < 10:
        nxt = session.get(Council, council.merged_into_id)
        if nxt is None:
            break
        council, seen = nxt, seen + 1
    return council


def _stored_for_record(session: Session, rec: CouncilRecord) -> Council:
    council = queries.council_by_code(session, rec.code, rec.gss_code) or queries.council_by_name(
        session, rec.name
    )
    if council is None:
        council = council_from_record(rec)
        session.add(council)
        session.flush()
    return _live(session, council)


def _match_non_reference(session: Session, typed: str) -> Council | None:
    from rapidfuzz import fuzz, process

    extras = list(session.scalars(select(Council).where(Council.is_reference.is_(False))))
    if not extras:
        return None
    names = {c.id: c.name for c in extras}
    best = process.extractOne(typed, names, scorer=fuzz.token_sort_ratio, score_cutoff=92)
    if best is None:
        return None
    return _live(session, session.get(Council, best[2]))  # type: ignore[arg-type]


def _short(name: str) -> str:
    short = name
    for suffix in (
        " County Council",
        " City Council",
        " Borough Council",
        " District Council",
        " Council",
    ):
        if short.lower().endswith(suffix.lower()):
            short = short[: -len(suffix)]
            break
    return short.strip() or name


def find_or_add_workshop_member(
    session: Session, *, name: str, email: str, council: Council
) -> tuple[Member, bool]:
    """The member for a workshop participant (keyed by email); added if new."""
    member = queries.member_by_email(session, email) if email else None
    if member is not None:
        return member, False
    member = Member(
        slack_user_id=None,
        slack_team_id="",
        name=name,
        email=email or None,
        council_id=council.id,
        role=Role.PRACTITIONER,
    )
    session.add(member)
    session.flush()
    return member, True


@dataclass(frozen=True)
class Participant:
    """Someone named on a workshop's flip chart, with the council they came for."""

    name: str
    email: str
    council_id: int


def find_or_add_workshop_members(
    session: Session, participants: Iterable[Participant], member_ids: dict[str, int]
) -> int:
    """Find or add the members for workshop participants with an email, many at a time.

    The members find_or_add_workshop_member would find or add one at a time: keyed by email
    (case and spaces ignored), a new one named after, and in the council of, the first row that
    names them. ``member_ids`` maps email keys to member ids (those already known are not
    looked up again) and gains every participant's; returns how many members were added.
    """
    wanted: dict[str, Participant] = {}
    for person in participants:
        key = Member.key_for(person.email)
        if key is not None and key not in member_ids:
            wanted.setdefault(key, person)
    if not wanted:
        return 0
    known_before = len(member_ids)
    member_ids.update(queries.member_ids_by_email(session, wanted))
    new = [
        dict(
            slack_user_id=None,
            slack_team_id="",
            name=person.name,
            email=person.email,
            email_key=key,
            council_id=person.council_id,
            role=Role.PRACTITIONER,
            created_at=utcnow(),
        )
        for key, person in wanted.items()
        if key not in member_ids
    ]
    if not new:
        return 0
    # A bulk insert, not ORM objects: an import of 100,000 people would spend most of its time
    # building and flushing objects it only needs the ids of.
    if session.get_bind().dialect.name == "postgresql":
        member_ids.update(insert_returning_ids(session, _MEMBERS, new, "email_key"))
        if known_before.bit_length() < len(member_ids).bit_length() and len(member_ids) >= 2048:
            _refresh_member_statistics(session)
    else:
        # SQLite cannot return ids in row order in bulk; the keys are new, so read them back.
        session.execute(insert(_MEMBERS), new)
        member_ids.update(
            queries.member_ids_by_email(session, [str(row["email_key"]) for row in new])
        )
    return len(new)


def insert_returning_ids(
    session: Session, table: Table, rows: list[dict[str, Any]], key: str
) -> dict[Any, int]:
    """PostgreSQL: insert rows (all with the same columns) in one statement; new ids by ``key``.

    One ``INSERT ... SELECT FROM unnest(array, ...)`` with a parameter per column rather than
    a ``VALUES`` list with one per cell: psycopg rewrites every placeholder of a statement in
    Python, which cost more than the insert itself at thousands of rows a statement. ``key``
    must be unique among the rows; it says which row each returned id belongs to.
    """
    if not rows:
        return {}
    names = list(rows[0])
    dialect = session.get_bind().dialect
    arrays = ", ".join(
        f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names
    )
    stmt = text(
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"RETURNING {table.c.id.name}, {table.c[key].name}"
    ).bindparams(*(bindparam(name, type_=ARRAY(table.c[name].type)) for name in names))
    values = {name: [row[name] for row in rows] for name in names}
    # The key column's own type reads the returned key back (an enum stays an enum).
    returned = session.execute(stmt.columns(table.c.id, table.c[key]), values)
    return {row_key: row_id for row_id, row_key in returned}


def _refresh_member_statistics(session: Session) -> None:
    """Let PostgreSQL's planner see the members this transaction added (it counts them).

    Without statistics it guesses that each key in ``email_key IN (...)`` matches 0.5% of the
    table, so 500 keys seem to match all of it and it scans every member instead of using the
    index (once psycopg prepares the statement, comparing each member with all 500 keys): an
    import adding 100,000 people slowed down as the table grew. Done each time the count of
    members the import has seen doubles, so a handful of times in all. A user not owning the
    table only gets a warning, and the import goes on.
    """
    session.execute(text("ANALYZE members"))


def join_member(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    council: Council,
    name: str | None = None,
    email: str | None = None,
    role: Role | None = None,
) -> Member:
    """Add a Slack user as a member of a council, or change the council of an existing member."""
    member = queries.member_by_slack_id(session, team_id, user_id)
    if member is None:
        # A workshop participant joining Slack later keeps their posts: match on email.
        member = _unclaimed_by_email(session, email)
        if member is None:
            member = _new_member(session, team_id, user_id)
        else:
            member.slack_team_id, member.slack_user_id = team_id, user_id
    member.council_id = council.id
    if name:
        member.name = name
    if email:
        member.email = email
    if role is not None and member.role != Role.FACILITATOR:
        member.role = role
    member.erased_at = None
    session.flush()
    return member


def _new_member(session: Session, team_id: str, user_id: str) -> Member:
    """A new member row; if the same person is joining from another device at this moment,
    wait for that and use their row."""
    member = Member(slack_team_id=team_id, slack_user_id=user_id)
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError:
        existing = queries.member_by_slack_id(session, team_id, user_id)
        if existing is None:
            raise
        return existing
    return member


def _unclaimed_by_email(session: Session, email: str | None) -> Member | None:
    if not email:
        return None
    key = Member.key_for(email)
    if key is None:
        return None
    return session.scalar(
        select(Member)
        .where(Member.email_key == key, Member.slack_user_id.is_(None))
        .order_by(Member.id)
    )


def join_by_name(
    session: Session,
    directory: CouncilDirectory,
    typed: str,
    *,
    team_id: str,
    user_id: str,
    name: str | None = None,
    email: str | None = None,
) -> CouncilChoice:
    """Join a Slack user to the council they named (added as new if the directory lacks it)."""
    ensure_reference_councils(session, directory)
    choice = council_for(session, typed, directory)
    assert choice is not None  # create=True always gives a council
    join_member(
        session, team_id=team_id, user_id=user_id, council=choice.council, name=name, email=email
    )
    return choice


def council_for_choice(session: Session, value: str, directory: CouncilDirectory) -> Council:
    """The stored council for a picker value: ``id:<n>`` or ``ref:<official name>``."""
    kind, _, rest = value.partition(":")
    if kind == "id" and rest.isascii() and rest.isdigit():
        council = session.get(Council, int(rest))
        if council is not None:
            return _live(session, council)
    if kind == "ref":
        for rec in directory.records:
            if rec.name == rest:
                return _stored_for_record(session, rec)
    raise InvalidInput("I don't recognise that council. Please choose it again from the list.")


def guess_council(directory: CouncilDirectory, email: str | None) -> Resolution | None:
    """The council a staff email address points at, when the directory is sure."""
    if not email:
        return None
    res = directory.by_email(email)
    return res if res.record is not None else None


# ---------------------------------------------------------------- for the Slack handlers


@dataclass(frozen=True)
class Joined:
    """A member's council after joining, and the posts they made before they joined."""

    council: str
    created: bool
    kept: list[Draft]


class MembershipService:
    """Joining as the Slack handlers need it: each call is one transaction."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context

    def join_from_email(
        self, team_id: str, user_id: str, *, name: str | None, email: str | None
    ) -> str | None:
        """Join the member straight away when their email domain names one council; returns
        the council's name, or None when the domain says nothing for sure."""
        guess = guess_council(self.context.directory, email)
        if guess is None or guess.record is None:
            return None
        with self.context.session_factory.begin() as session:
            choice = join_by_name(
                session,
                self.context.directory,
                guess.record.name,
                team_id=team_id,
                user_id=user_id,
                name=name,
                email=email,
            )
            joined = choice.council.name
        logger.info("Joined %s to %s from their email domain", user_id, joined)
        return joined

    def join_by_name(
        self, team_id: str, user_id: str, typed: str, *, name: str | None, email: str | None
    ) -> Joined:
        """``/km join <council>``: join (or change council) and take the posts kept meanwhile."""
        with self.context.session_factory.begin() as session:
            choice = join_by_name(
                session,
                self.context.directory,
                typed,
                team_id=team_id,
                user_id=user_id,
                name=name,
                email=email,
            )
            return Joined(
                choice.council.name, choice.created, take_drafts(session, team_id, user_id)
            )

    def join_from_form(
        self,
        team_id: str,
        user_id: str,
        *,
        picked: str | None,
        typed: str,
        role: str,
        name: str | None,
        email: str | None,
    ) -> Joined:
        """The join modal: the council picked from the list (or typed), and a role; the member
        is owed a welcome message, and the posts kept meanwhile are taken for publishing."""
        directory = self.context.directory
        with self.context.session_factory.begin() as session:
            ensure_reference_councils(session, directory)
            if picked:
                council = council_for_choice(session, picked, directory)
                created = False
            else:
                choice = council_for(session, typed, directory)
                assert choice is not None
                council, created = choice.council, choice.created
            member = join_member(
                session,
                team_id=team_id,
                user_id=user_id,
                council=council,
                name=name,
                email=email,
                role=_role(role),
            )
            outbox.notify_member(session, member, member_messages.welcome(council.name))
            return Joined(council.name, created, take_drafts(session, team_id, user_id))

    def council_options(self, typed: str, *, limit: int = 20) -> list[tuple[str, str]]:
        """(name, picker value) of the councils matching what someone is typing."""
        typed = typed.strip()
        found = self.context.directory.search(typed, limit=limit) if typed else []
        return [(r.name, f"ref:{r.name}") for r in found]


def _role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None
