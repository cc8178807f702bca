"""The community-of-practice services facilitators' commands call."""

from __future__ import annotations

import pytest
from workerkit import WorkerWorld, world_fixture  # noqa: F401 - a fixture

from bot.kernel.errors import InvalidInput, NotFound
from bot.services.communities import (
    CommunityError,
    add_community,
    add_prompt,
    ensure_builtin_prompts,
    find_community,
    list_communities,
    list_prompts,
    parse_time_of_day,
    parse_weekday,
    remove_community,
    remove_prompt,
    set_paused,
)
from storage.models import CommunityOfPractice


@pytest.mark.parametrize(
    "text, day",
    [
        ("mon", 0),
        ("Tue", 1),
        ("tues", 1),
        ("Tuesday", 1),
        ("tuesdays", 1),
        ("2", 1),
        ("Weds", 2),
        ("thurs", 3),
        ("FRIDAY", 4),
        ("sat", 5),
        ("7", 6),
        (" sunday. ", 6),
    ],
)
def test_days_as_people_write_them(text: str, day: int) -> None:
    assert parse_weekday(text) == day


@pytest.mark.parametrize("text", ["", "0", "8", "t", "tomorrow", "someday"])
def test_days_that_are_not_days(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_weekday(text)


@pytest.mark.parametrize(
    "text, hhmm",
    [
        ("10:00", "10:00"),
        ("9.30", "09:30"),
        ("10am", "10:00"),
        ("2:30pm", "14:30"),
        ("12pm", "12:00"),
        ("12am", "00:00"),
        ("0930", "09:30"),
        ("10 am", "10:00"),
        ("23:59", "23:59"),
    ],
)
def test_times_as_people_write_them(text: str, hhmm: str) -> None:
    assert parse_time_of_day(text) == hhmm


@pytest.mark.parametrize("text", ["", "2", "24:00", "13pm", "9:5", "ten", "10:60"])
def test_times_that_are_not_times(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_time_of_day(text)
    assert str(err.value)


def test_add_find_pause_and_remove_a_community(world: WorkerWorld) -> None:
    with world.services.session_factory.begin() as session:
        community = add_community(
            session,
            channel_id="<#C0IMCOP|im-cop>",
            name="",
            area="information management",
            weekday=1,
            time_of_day="10am",
        )
        assert (community.channel_id, community.name, community.area) == ("C0IMCOP", "im-cop", "IM")
        assert (community.time_of_day, community.timezone, community.nation) == (
            "10:00",
            "Europe/London",
            "England",
        )
        add_community(
            session,
            channel_id="C0CFCOP",
            name="cf-wales",
            area="CF",
            weekday=3,
            time_of_day="14:00",
            nation="wales",
        )
        with pytest.raises(CommunityError, match="already a community"):
            add_community(
                session,
                channel_id="C0IMCOP",
                name="again",
                area="IM",
                weekday=1,
                time_of_day="10:00",
            )
        with pytest.raises(InvalidInput, match="time zone"):
            add_community(
                session,
                channel_id="C0X",
                name="x",
                area="IM",
                weekday=1,
                time_of_day="10:00",
                timezone="Mars/Olympus",
            )
        with pytest.raises(InvalidInput, match="Knowledge area"):
            add_community(
                session, channel_id="C0Y", name="y", area="XX", weekday=1, time_of_day="10:00"
            )
        with pytest.raises(InvalidInput, match="nation"):
            add_community(
                session,
                channel_id="C0Z",
                name="z",
                area="IM",
                weekday=1,
                time_of_day="10:00",
                nation="Atlantis",
            )
    with world.services.session_factory.begin() as session:
        assert [c.name for c in list_communities(session)] == ["cf-wales", "im-cop"]
        for ref in ("C0IMCOP", "<#C0IMCOP>", "#im-cop", "IM-COP", str(community.id)):
            assert find_community(session, ref).channel_id == "C0IMCOP"
        with pytest.raises(NotFound):
            find_community(session, "#nowhere")
        wales = find_community(session, "cf-wales")
        assert wales.nation == "Wales"
        set_paused(session, wales, True)
    with world.services.session_factory.begin() as session:
        wales = find_community(session, "cf-wales")
        assert wales.paused
        remove_community(session, wales)
    with world.services.session_factory() as session:
        assert [c.name for c in session.query(CommunityOfPractice)] == ["im-cop"]


def test_the_prompt_bank_add_list_remove_and_load_once(world: WorkerWorld) -> None:
    with world.services.session_factory.begin() as session:
        loaded = ensure_builtin_prompts(session)
        assert loaded >= 24
        im = list_prompts(session, "IM")
        assert len(im) >= 6 and all(p.area == "IM" for p in im)
        mine = add_prompt(
            session,
            "  What is the one record   you could never lose?  ",
            area=None,
            created_by_id=None,
        )
        assert mine.text == "What is the one record you could never lose?"
        assert mine.id in [p.id for p in list_prompts(session, "CF")], "no area: every area"
        with pytest.raises(InvalidInput):
            add_prompt(session, "   ")
        with pytest.raises(InvalidInput):
            add_prompt(session, "x" * 601)
        removed = remove_prompt(session, im[0].id)
        assert not removed.active
        with pytest.raises(NotFound):
            remove_prompt(session, im[0].id)
        with pytest.raises(NotFound):
            remove_prompt(session, 999_999)
        assert ensure_builtin_prompts(session) == 0, "loaded once; a removed one stays removed"
        assert im[0].id not in [p.id for p in list_prompts(session, "IM")]
        assert len(list_prompts(session)) == loaded
