"""Statistics and exports counted on a known marketplace, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from admin_kit import KnownMarket, build_known_market, csv_rows, week_monday

from bot.container import Container, build_container
from bot.kernel.settings import Settings
from bot.reports import stats
from bot.reports.export import (
    COUNCILS_HEADER,
    INTRODUCTIONS_HEADER,
    OUTCOMES_HEADER,
    POSTS_HEADER,
    SESSIONS_HEADER,
    export_bytes,
)
from bot.reports.outputs import OUTPUT_HEADER


@pytest.fixture
def services(database_url: str, settings: Settings) -> Iterator[Container]:
    """Container on a clean database; automatic introductions off so the test chooses them."""
    built = build_container(settings.with_(database_url=database_url, intro_threshold=101))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def market(services: Container) -> KnownMarket:
    return build_known_market(services)


def test_statistics_of_a_known_market(services: Container, market: KnownMarket) -> None:
    with services.session_factory() as session:
        found = stats.collect(session)

    regions = {r.region: (r.councils, r.members) for r in found.regions}
    assert list(regions)[:12] == list(stats.REGIONS)
    assert regions["South West"] == (3, 4)  # Devon (two members), Cornwall, Wiltshire
    assert regions["London"] == (1, 1)
    assert regions["Scotland"] == (1, 1)  # the erased member is not counted
    assert regions[stats.UNKNOWN_REGION] == (1, 1)  # Newtown, added by hand
    assert sum(c for c, _ in regions.values()) == 6
    assert all(
        regions[r] == (0, 0) for r in stats.REGIONS if r not in ("South West", "London", "Scotland")
    )
    assert (found.councils_taking_part, found.members, found.regions_at_target) == (6, 7, 1)

    by_area = {a.area: (a.open, a.fulfilled, a.expired) for a in found.posts_by_area}
    assert by_area == {
        "IM": (1, 0, 0),  # the removed offer counts nowhere
        "CF": (2, 1, 0),
        "CO": (2, 0, 1),  # the withdrawn offer counts nowhere
        "OL": (1, 1, 0),
        stats.NO_AREA: (1, 0, 0),
    }
    assert (found.open_wants, found.open_offers) == (4, 3)

    assert (
        found.introductions_made,
        found.introductions_confirmed,
        found.introductions_declined,
    ) == (5, 3, 1)
    assert found.days_saved_total == 42.5
    assert found.days_saved_by_council == [
        ("Devon County Council", 30.0),
        ("Wiltshire Council", 12.5),
    ]
    assert found.unmet_areas == [("CO", 2), ("IM", 1)]

    assert len(found.weekly) == 13
    assert found.weekly[-1].week_start.isoformat() == week_monday(market.built_at)
    assert (found.weekly[-1].posts, found.weekly[-1].introductions) == (12, 5)
    assert sum(w.posts for w in found.weekly[:-1]) == 0
    assert all(w.week_start.weekday() == 0 for w in found.weekly)


def test_rendering_names_the_numbers(services: Container, market: KnownMarket) -> None:
    with services.session_factory() as session:
        found = stats.collect(session)
    text = stats.render(found)
    assert "South West: 3 councils, 4 members ✓" in text
    assert "London: 1 council, 1 member (2 to go)" in text
    assert "6 councils and 7 members in all; 1 of 12 regions at the target." in text
    assert "Communications (CO): 2 / 0 / 1" in text
    assert "5 made, 3 confirmed useful, 1 not a fit." in text
    assert "*Days saved*: 42.5 in all" in text
    assert "Devon County Council: 30" in text
    assert "Communications (CO): 2 open wants" in text
    plain = stats.render(found, markdown=False)
    assert "*" not in plain and "DAYS SAVED: 42.5 in all" in plain
    as_json = found.as_json()
    assert as_json["days_saved_total"] == 42.5 and as_json["regions_at_target"] == 1
    assert as_json["unmet_areas"] == [
        {"area": "CO", "open_wants": 2},
        {"area": "IM", "open_wants": 1},
    ]


def test_exports_parse_with_their_documented_headers(
    services: Container, market: KnownMarket
) -> None:
    with services.session_factory() as session:
        files = export_bytes(session)
    # Files and columns are only ever added, at the end.
    assert list(files) == [
        "posts.csv",
        "introductions.csv",
        "outcomes.csv",
        "councils.csv",
        "sessions.csv",
        "outputs.csv",
    ]
    headers = {
        "posts.csv": POSTS_HEADER,
        "introductions.csv": INTRODUCTIONS_HEADER,
        "outcomes.csv": OUTCOMES_HEADER,
        "councils.csv": COUNCILS_HEADER,
        "sessions.csv": SESSIONS_HEADER,
        "outputs.csv": OUTPUT_HEADER,
    }
    for name, data in files.items():
        first = data.decode("utf-8-sig").splitlines()[0]
        assert first == ",".join(headers[name])
    assert POSTS_HEADER[:15] == (
        "id",
        "kind",
        "status",
        "area",
        "purpose",
        "council",
        "region",
        "member",
        "text",
        "link",
        "source",
        "created_at",
        "expires_at",
        "closed_at",
        "removed_reason",
    )
    assert POSTS_HEADER[15:] == ("session_id", "service_area")
    assert OUTCOMES_HEADER[:8] == (
        "id",
        "want_id",
        "council",
        "region",
        "introduction_id",
        "days_saved",
        "note",
        "recorded_at",
    )
    assert OUTCOMES_HEADER[8:] == ("note_shared",)

    posts = csv_rows(files["posts.csv"])
    assert len(posts) == 12
    by_id = {int(p["id"]): p for p in posts}
    removed = by_id[market.posts["D"]]
    assert removed["status"] == "removed"
    assert removed["removed_reason"] == "Duplicate of another post"
    assert by_id[market.posts["A"]]["council"] == "Devon County Council"
    assert by_id[market.posts["A"]]["region"] == "South West"
    assert by_id[market.posts["I"]]["area"] == ""

    intros = csv_rows(files["introductions.csv"])
    assert [i["status"] for i in intros] == [
        "confirmed",
        "confirmed",
        "confirmed",
        "declined",
        "proposed",
    ]
    assert all(i["manual"] == "yes" for i in intros)

    assert by_id[market.posts["A"]]["session_id"] == ""
    assert by_id[market.posts["A"]]["service_area"] == "Health and social care"

    outcomes = csv_rows(files["outcomes.csv"])
    assert sorted((o["council"], float(o["days_saved"])) for o in outcomes) == [
        ("Devon County Council", 30.0),
        ("Wiltshire Council", 12.5),
    ]
    assert {o["note_shared"] for o in outcomes} == {"no"}, "nobody was asked"
    assert csv_rows(files["sessions.csv"]) == []
    output_rows = csv_rows(files["outputs.csv"])
    assert {r["section"] for r in output_rows} >= {"posts", "demand", "supply", "outcome"}
    assert not any(r["note"] for r in output_rows), "no note was shared"

    councils = {c["name"]: c for c in csv_rows(files["councils.csv"])}
    assert set(councils) == {
        "Devon County Council",
        "Cornwall Council",
        "Wiltshire Council",
        "London Borough of Lewisham",
        "Glasgow City Council",
        "Newtown Town Council",
    }
    devon = councils["Devon County Council"]
    assert (devon["members"], devon["posts"], devon["open_wants"], devon["open_offers"]) == (
        "2",
        "3",
        "1",
        "1",
    )


def test_export_defuses_spreadsheet_formulas(services: Container, market: KnownMarket) -> None:
    from bot.services.posting import publish_post
    from storage.models import Member, PostKind

    with services.session_factory.begin() as session:
        member = session.get(Member, market.members["lewisham"])
        assert member is not None
        publish_post(
            session,
            member,
            PostKind.OFFER,
            '=HYPERLINK("http://evil","x") guide',
            settings=services.settings,
            matcher=services.live_index,
        )
    with services.session_factory() as session:
        posts = csv_rows(export_bytes(session)["posts.csv"])
    assert posts[-1]["text"].startswith("'=HYPERLINK")


def test_the_chart_of_an_empty_market_is_still_a_sensible_png(services: Container) -> None:
    from bot.reports.chart import activity_png

    with services.session_factory() as session:
        found = stats.collect(session)
    assert found.councils_taking_part == 0 and sum(w.posts for w in found.weekly) == 0
    png = activity_png(found.weekly, found.regions)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 600)


def test_weeks_are_the_uks_weeks(services: Container) -> None:
    from datetime import UTC, datetime

    from storage.models import Council, Member, Post, PostKind, PostStatus

    def post_at(when: datetime) -> None:
        with services.session_factory.begin() as session:
            council = Council(name=f"Council {when:%H%M%d%m}", short_name="C")
            session.add(council)
            session.flush()
            member = Member(slack_user_id=f"U{when:%H%M%d%m}", name="M", council_id=council.id)
            session.add(member)
            session.flush()
            session.add(
                Post(
                    kind=PostKind.WANT,
                    member_id=member.id,
                    council_id=council.id,
                    text="A want",
                    status=PostStatus.OPEN,
                    created_at=when,
                    refreshed_at=when,
                    changed_at=when,
                    expires_at=when,
                )
            )

    # Summer: 23:30 UTC on Sunday 13 June is 00:30 BST on Monday 14 June, the next week.
    post_at(datetime(2027, 6, 13, 23, 30, tzinfo=UTC))
    post_at(datetime(2027, 6, 13, 22, 30, tzinfo=UTC))  # 23:30 BST: still Sunday
    # Winter: 23:30 UTC on Sunday 10 January is 23:30 GMT, still that Sunday.
    post_at(datetime(2027, 1, 10, 23, 30, tzinfo=UTC))
    # The thirteen weeks up to the week of 12 July begin at midnight BST on Monday 19 April:
    # 23:30 UTC the Sunday before is in them; 22:30 UTC is not.
    post_at(datetime(2027, 4, 18, 23, 30, tzinfo=UTC))
    post_at(datetime(2027, 4, 18, 22, 30, tzinfo=UTC))

    with services.session_factory() as session:
        summer = stats.weekly_activity(session, now=datetime(2027, 7, 14, 12, tzinfo=UTC))
        winter = stats.weekly_activity(session, now=datetime(2027, 1, 13, 12, tzinfo=UTC))
    weeks = {w.week_start.isoformat(): w.posts for w in summer}
    assert weeks["2027-06-14"] == 1 and weeks["2027-06-07"] == 1
    assert summer[0].week_start.isoformat() == "2027-04-19" and summer[0].posts == 1
    assert sum(weeks.values()) == 3
    assert {w.week_start.isoformat(): w.posts for w in winter}["2027-01-04"] == 1
    assert winter[-1].week_start.isoformat() == "2027-01-11" and winter[-1].posts == 0
