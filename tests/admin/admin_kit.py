"""A known marketplace, built through the services, and the helpers the admin tests share."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slackkit import SlackDriver, make_services, validate_blocks

from bot.container import Container
from bot.devtools.fakeslack import FakeSlack
from bot.kernel.clock import uk_time
from bot.kernel.settings import Settings
from bot.services.admin import councils, facilitators, moderation
from bot.services.closing import close_post, record_outcome, set_status
from bot.services.introductions import answer_introduction
from bot.services.membership import council_for, ensure_reference_councils, join_member
from bot.services.posting import publish_post
from storage.models import Member, Post, PostKind, PostStatus, utcnow

TEAM = "T0KMBOT"
FACILITATOR = "U0FACIL"


@contextmanager
def facilitated_slack(
    settings: Settings, fake_slack: FakeSlack, **changes: Any
) -> Iterator[SlackDriver]:
    """The real app against the fake Slack with one facilitator (Fran), configured through
    ``KMBOT_FACILITATORS``; ``changes`` are further settings (``database_url=`` and so on)."""
    settings = settings.with_(facilitators=(FACILITATOR,), **changes)
    driver = SlackDriver(
        settings, make_services(settings), fake_slack, settings.slack_signing_secret
    )
    driver.user(FACILITATOR, "Fran Cilitator", "fran@kmnetwork.org.uk")
    try:
        yield driver
    finally:
        driver.close()


def admin(slack: SlackDriver, text: str, user: str = FACILITATOR) -> str:
    """Run /km-admin and return the ephemeral reply's text, after checking its blocks."""
    before = len(slack.fake.ephemerals(user))
    assert slack.slash(user, "/km-admin", text).status == 200
    slack.settle()
    replies = slack.fake.ephemerals(user)
    assert len(replies) == before + 1, f"expected one reply to /km-admin {text}"
    validate_blocks(replies[-1].blocks)
    return " ".join(b["text"]["text"] for b in replies[-1].blocks or [] if b.get("text"))


def csv_rows(data: bytes) -> list[dict[str, str]]:
    """An exported CSV file's rows, after checking it starts with the BOM Excel needs."""
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@dataclass
class KnownMarket:
    """Post ids by letter, member ids by name, and when it was built."""

    posts: dict[str, int]
    members: dict[str, int]
    built_at: datetime


def council_member(session, services: Container, user_id: str, council: str, name: str) -> Member:  # type: ignore[no-untyped-def]
    choice = council_for(session, council, services.directory)
    assert choice is not None
    return join_member(
        session,
        team_id=TEAM,
        user_id=user_id,
        council=choice.council,
        name=name,
        email=f"{user_id.lower()}@example.gov.uk",
    )


def build_known_market(services: Container) -> KnownMarket:
    """Six councils in four regions, fourteen posts, five introductions, two outcomes.

    The numbers every statistics test expects are worked out in ``tests/admin/test_admin_stats.py``.
    """
    settings, matcher = services.settings, services.live_index
    now = utcnow()
    posts: dict[str, int] = {}
    with services.session_factory.begin() as session:
        ensure_reference_councils(session, services.directory)
        facilitators.bootstrap_facilitators(session, [FACILITATOR], team_id=TEAM)
        newtown = councils.add_council(
            session, "Newtown Town Council", actor=FACILITATOR, directory=services.directory
        )
        m = {
            "devon": council_member(
                session, services, "U0DEVON", "Devon County Council", "Jo Bloggs"
            ),
            "devon2": council_member(
                session, services, "U0DEVON2", "Devon County Council", "Al Smith"
            ),
            "cornwall": council_member(
                session, services, "U0CORN", "Cornwall Council", "Kit Penrose"
            ),
            "wilts": council_member(session, services, "U0WILTS", "Wiltshire Council", "Pat Moon"),
            "lewisham": council_member(
                session, services, "U0LEWIS", "London Borough of Lewisham", "Sam Patel"
            ),
            "glasgow": council_member(
                session, services, "U0GLAS", "Glasgow City Council", "Ailsa Reid"
            ),
            "newtown": join_member(
                session, team_id=TEAM, user_id="U0NEWT", council=newtown, name="Nia Jones"
            ),
        }
        gone = council_member(session, services, "U0GONE", "Glasgow City Council", "Erased Person")
        gone.erased_at = now  # erased members are not counted

        def post(letter: str, who: str, kind: PostKind, area: str | None, text: str) -> None:
            result = publish_post(
                session, m[who], kind, text, settings=settings, matcher=matcher, area=area, now=now
            )
            posts[letter] = result.post.id

        post("A", "devon", PostKind.WANT, "IM", "Records retention schedule for social care")
        post("B", "devon", PostKind.WANT, "CF", "Customer journey mapping for council tax")
        post("C", "devon2", PostKind.OFFER, "OL", "After action review facilitation guide")
        post("D", "cornwall", PostKind.OFFER, "IM", "Information asset register template")
        post("E", "cornwall", PostKind.WANT, "CO", "Intranet governance model")
        post("F", "wilts", PostKind.WANT, "CO", "Staff newsletter readership survey")
        post("G", "wilts", PostKind.WANT, "OL", "Lessons learned database examples")
        post("H", "lewisham", PostKind.OFFER, "CF", "Complaints insight dashboard")
        post("I", "glasgow", PostKind.WANT, None, "Knowledge cafe session plans")
        post("J", "newtown", PostKind.OFFER, "CF", "Front door triage script")
        post("K", "lewisham", PostKind.WANT, "CO", "Plain English style guide")
        # A withdrawn offer counts nowhere in open / fulfilled / expired.
        post("L", "glasgow", PostKind.OFFER, "CO", "Podcast kit loan")
        members = {k: v.id for k, v in m.items()}

    with services.session_factory.begin() as session:

        def intro(want: str, offer: str) -> int:
            made = moderation.introduce(
                session,
                posts[want],
                posts[offer],
                actor=FACILITATOR,
                made_by=None,
                settings=settings,
                matcher=matcher,
            )
            return made.id

        i1, i2, i3, i4 = intro("F", "H"), intro("B", "H"), intro("G", "C"), intro("I", "J")
        intro("K", "C")  # left waiting
        mem = {k: session.get(Member, v) for k, v in members.items()}
        answer_introduction(session, mem["wilts"], i1, useful=True)
        answer_introduction(session, mem["devon"], i2, useful=True)
        answer_introduction(session, mem["devon2"], i3, useful=True)
        answer_introduction(session, mem["glasgow"], i4, useful=False)
        close_post(session, mem["devon"], posts["B"], PostStatus.FULFILLED, matcher=matcher)
        record_outcome(session, mem["devon"], posts["B"], days=30, note="Saved a whole project")
        close_post(session, mem["wilts"], posts["G"], PostStatus.FULFILLED, matcher=matcher)
        record_outcome(session, mem["wilts"], posts["G"], days=12.5, note=None)
        close_post(session, mem["glasgow"], posts["L"], PostStatus.WITHDRAWN, matcher=matcher)
        expired = session.get(Post, posts["E"])
        assert expired is not None
        set_status(session, expired, PostStatus.EXPIRED)
        moderation.remove_post(
            session, posts["D"], "Duplicate of another post", actor=FACILITATOR, matcher=matcher
        )
    return KnownMarket(posts, members, now)


def week_monday(when: datetime) -> str:
    """The ISO date of the Monday of ``when``'s week, in the UK."""
    day = uk_time(when).date()
    return (day - timedelta(days=day.weekday())).isoformat()
