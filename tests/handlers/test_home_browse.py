"""Scenario: browsing open wants and offers in App Home: filters, paging and "I can help"."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from conftest import PINNED_AT
from featurekit import home_buttons, post_values, select
from slackkit import SlackDriver, validate_view
from sqlalchemy import select as sql_select

from bot.slack import ids, modals
from bot.slack.browse import BrowseFilter
from storage.models import Introduction


def _people(slack: SlackDriver) -> dict[str, str]:
    return {
        "devon": slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk"),
        "wilts": slack.user("U0WILTS", "Ann Lee", "ann.lee@wiltshire.gov.uk"),
        "lewisham": slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk"),
        "manchester": slack.user("U0MANC", "Kim Lowe", "kim.lowe@manchester.gov.uk"),
    }


def _post(
    slack: SlackDriver,
    user: str,
    kind: str,
    text: str,
    area: str | None = None,
    purpose: str | None = None,
) -> None:
    """Post through the post form, which takes a knowledge area and a purpose."""
    slack.submit(user, modals.post_modal(kind), post_values(text, area=area, purpose=purpose))
    slack.settle()


def _home(slack: SlackDriver, user: str) -> dict:  # type: ignore[type-arg]
    view = slack.fake.home_view(user)
    assert view is not None
    validate_view(view)
    return view


def _rows(view: dict) -> list[str]:  # type: ignore[type-arg]
    """The post labels listed under "Browse open wants and offers"."""
    blocks = view["blocks"]
    start = next(i for i, b in enumerate(blocks) if "Browse open" in str(b.get("text", "")))
    found = []
    for block in blocks[start:]:
        text = (block.get("text") or {}).get("text", "")
        if block["type"] == "section" and text.startswith("*") and "#" in text.split("·")[0]:
            found.append(text.split("*")[1])
    return found


def _seed(slack: SlackDriver) -> dict[str, str]:
    people = _people(slack)
    # Either side of "new this week": eight days old, and six.
    with time_machine.travel(PINNED_AT - timedelta(days=8), tick=True):
        _post(
            slack,
            people["wilts"],
            "offer",
            "Lessons learnt toolkit and after action reviews",
            "OL",
            "efficiency",
        )
    with time_machine.travel(PINNED_AT - timedelta(days=6), tick=True):
        _post(
            slack,
            people["devon"],
            "offer",
            "Information asset register template",
            "IM",
            "efficiency",
        )
    _post(slack, people["manchester"], "offer", "Customer journey mapping workshop", "CF", "bau")
    _post(slack, people["lewisham"], "want", "A records retention schedule for a borough", "IM")
    return people


def test_filters_narrow_the_list_and_live_in_the_view(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    people = _seed(slack)
    lewisham = people["lewisham"]
    slack.home_opened(lewisham)
    slack.settle()
    home = _home(slack, lewisham)
    assert "4 open posts match" in str(home["blocks"])
    assert _rows(home) == ["Want #4", "Offer #3", "Offer #2", "Offer #1"]
    # Their own council's want has no button; the others have the card's buttons.
    helps = home_buttons(home, ids.ACT_BROWSE_HELP)
    assert [(b["value"], b["text"]["text"]) for b in helps] == [
        ("3", "I'm interested"),
        ("2", "I'm interested"),
        ("1", "I'm interested"),
    ]
    assert "From your council" in str(home["blocks"])

    select(slack, lewisham, ids.ACT_BROWSE_KIND, "offer")
    slack.settle()
    home = _home(slack, lewisham)
    assert "3 open offers match" in str(home["blocks"])
    assert BrowseFilter.decode(home["private_metadata"]) == BrowseFilter(kind="offer")

    select(slack, lewisham, ids.ACT_BROWSE_REGION, "South West")
    slack.settle()
    home = _home(slack, lewisham)
    assert "2 open offers match" in str(home["blocks"])
    assert _rows(home) == ["Offer #2", "Offer #1"]

    select(slack, lewisham, ids.ACT_BROWSE_WHEN, "week")
    slack.settle()
    home = _home(slack, lewisham)
    assert "1 open offer matches" in str(home["blocks"])
    assert _rows(home) == ["Offer #2"]

    select(slack, lewisham, ids.ACT_BROWSE_AREA, "CF")
    slack.settle()
    home = _home(slack, lewisham)
    assert "No open offers match" in str(home["blocks"]) and _rows(home) == []

    select(slack, lewisham, ids.ACT_BROWSE_REGION, "any")
    slack.settle()
    home = _home(slack, lewisham)
    assert _rows(home) == ["Offer #3"]
    # The menus show what is chosen.
    menus = next(b for b in home["blocks"] if b.get("block_id") == "browse_filters")["elements"]
    assert [m["initial_option"]["value"] for m in menus] == ["offer", "CF", "any", "any", "week"]

    select(slack, lewisham, ids.ACT_BROWSE_AREA, "any")
    slack.settle()
    assert _rows(_home(slack, lewisham)) == ["Offer #3", "Offer #2"]
    select(slack, lewisham, ids.ACT_BROWSE_PURPOSE, "efficiency")
    slack.settle()
    assert _rows(_home(slack, lewisham)) == ["Offer #2"]
    select(slack, lewisham, ids.ACT_BROWSE_WHEN, "any")
    slack.settle()
    home = _home(slack, lewisham)
    assert _rows(home) == ["Offer #2", "Offer #1"]
    assert BrowseFilter.decode(home["private_metadata"]) == BrowseFilter(
        kind="offer", purpose="efficiency"
    )


def test_paging_through_a_long_list(slack: SlackDriver) -> None:
    people = _people(slack)
    for n in range(4):
        for who in ("devon", "wilts", "manchester"):
            _post(slack, people[who], "offer", f"Offer number {n} from {who} about knowledge")
    viewer = people["lewisham"]
    slack.home_opened(viewer)
    slack.settle()
    home = _home(slack, viewer)
    assert "12 open posts match" in str(home["blocks"]) and "Page 1 of 2" in str(home["blocks"])
    assert len(_rows(home)) == 10
    [next_page] = home_buttons(home, ids.ACT_BROWSE_PAGE)
    assert next_page["text"]["text"] == "Next"
    slack.click(viewer, ids.ACT_BROWSE_PAGE, next_page["value"], view=home)
    slack.settle()
    home = _home(slack, viewer)
    assert "Page 2 of 2" in str(home["blocks"]) and _rows(home) == ["Offer #2", "Offer #1"]
    [previous] = home_buttons(home, ids.ACT_BROWSE_PAGE)
    assert previous["text"]["text"] == "Previous"
    slack.click(viewer, ids.ACT_BROWSE_PAGE, previous["value"], view=home)
    slack.settle()
    assert "Page 1 of 2" in str(_home(slack, viewer)["blocks"])
    # A page past the end (posts closed since the button was drawn) shows the last page.
    slack.click(viewer, ids.ACT_BROWSE_PAGE, BrowseFilter(page=7).encode(), view=home)
    slack.settle()
    home = _home(slack, viewer)
    assert "Page 2 of 2" in str(home["blocks"]) and _rows(home) == ["Offer #2", "Offer #1"]


def test_im_interested_introduces_once_through_the_normal_path(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    people = _seed(slack)
    lewisham = people["lewisham"]
    slack.home_opened(lewisham)
    slack.settle()
    home = _home(slack, lewisham)
    slack.click(lewisham, ids.ACT_BROWSE_HELP, "3", view=home)  # Manchester's offer
    slack.settle()
    home = _home(slack, lewisham)
    assert "introduced *Want #4* and *Offer #3*" in str(home["blocks"])
    with slack.services.session_factory() as session:
        intros = session.scalars(sql_select(Introduction)).all()
        assert [(i.want_id, i.offer_id, i.manual) for i in intros] == [(4, 3, True)]
    # The introduction is in the want's thread, and listed on their Home with its state.
    assert "waiting for an answer" in str(home["blocks"])
    slack.click(lewisham, ids.ACT_BROWSE_HELP, "3", view=home)
    slack.settle()
    assert "have already been introduced" in str(_home(slack, lewisham)["blocks"])
    with slack.services.session_factory() as session:
        assert len(session.scalars(sql_select(Introduction)).all()) == 1


def test_interest_with_nothing_to_offer_asks_for_the_post(slack: SlackDriver) -> None:
    _seed(slack)
    newcomer = slack.user("U0NEW", "Pat Jones", "pat.jones@manchester.gov.uk")
    slack.home_opened(newcomer)
    slack.settle()
    slack.click(newcomer, ids.ACT_BROWSE_HELP, "4", view=_home(slack, newcomer))
    slack.settle()
    modal = slack.last_modal()
    assert modal["private_metadata"] == "offer:help:4"


def test_home_lists_own_posts_with_their_state(slack: SlackDriver) -> None:
    people = _seed(slack)
    devon = people["devon"]
    slack.slash(devon, "/km", "close 2")
    slack.settle()
    slack.home_opened(devon)
    slack.settle()
    home = _home(slack, devon)
    assert "Your recent closed posts: Offer #2 (withdrawn)" in str(home["blocks"])


def test_the_filter_survives_the_round_trip_and_ignores_junk() -> None:
    chosen = BrowseFilter(kind="want", area="OL", purpose="bau", region="North West", page=3)
    assert BrowseFilter.decode(chosen.encode()) == chosen
    assert BrowseFilter.decode(BrowseFilter(new_this_week=True).encode()).new_this_week
    junk = BrowseFilter.decode("kind=both&area=XX&purpose=%3Cb%3E&page=-1&new=yes")
    assert junk == BrowseFilter()
    assert BrowseFilter.decode(None) == BrowseFilter() == BrowseFilter.decode("%%%")
    moved = chosen.choose(ids.ACT_BROWSE_AREA, "any")
    assert moved.area is None and moved.page == 0 and moved.kind == "want"
