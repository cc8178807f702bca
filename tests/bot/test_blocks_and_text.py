"""Block Kit builders and text safety, without Slack."""

from __future__ import annotations

from datetime import UTC, datetime

from slackkit import validate_blocks, validate_view

from bot.kernel.text import clean_post_text, escape, has_visible_text, truncate, visible_length
from bot.slack import introductions, modals, posts
from bot.slack.browse import BrowseFilter, BrowsePage, BrowseRow
from bot.slack.home import home as home_tab
from bot.slack.views import IntroductionView, MemberOverview, PostView


def _post(pid: int = 1, kind: str = "want", text: str = "IAR template", **kw) -> PostView:  # type: ignore[no-untyped-def]
    return PostView(
        id=pid,
        kind=kind,
        text=text,
        council="Devon County Council",
        author_slack_id="U1",
        author_email="jo@devon.gov.uk",
        expires_at=datetime(2027, 2, 25, tzinfo=UTC),
        **kw,
    )


def test_escape_neutralises_mentions_and_markup() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_truncate_keeps_within_the_limit_and_never_splits_an_escape() -> None:
    text = escape("a&b " * 500)
    cut = truncate(text, 101)
    assert len(cut) <= 101 and cut.endswith("…")
    assert not cut[:-1].rstrip().endswith(("&", "&a", "&am", "&amp"))
    assert truncate("short", 10) == "short"


def test_clean_post_text_strips_control_characters_and_tidies_space() -> None:
    assert clean_post_text("  IAR\x00\x07   help \r\n\n\n\nplease  ") == "IAR help\n\nplease"
    assert not has_visible_text("\u200b \u200d\t")
    assert visible_length("e\u0301") == 1


def test_card_for_a_want_has_the_help_button_and_validates() -> None:
    msg = posts.card(_post(area="IM", purpose="efficiency", link="https://example.org/a"))
    validate_blocks(msg["blocks"])
    text = str(msg["blocks"])
    assert "Want #1" in text and "Devon County Council" in text and "Information Management" in text
    assert "I can help" in text and "Open until 25 Feb 2027" in text
    closed = posts.card(_post(status="fulfilled"))
    assert "I can help" not in str(closed["blocks"]) and "fulfilled" in str(closed["blocks"])
    removed = posts.card(_post(text="Something unkind", status="removed"))
    validate_blocks(removed["blocks"])
    assert "Something unkind" not in str(removed) and "removed by a facilitator" in str(removed)


def test_very_long_texts_stay_within_block_kit_limits() -> None:
    long_text = "<b>" + "knowledge & learning " * 800
    intro = IntroductionView(
        1,
        _post(text=long_text),
        _post(2, "offer", long_text),
        88,
        tuple(f"term {n}" for n in range(40)),
    )
    for msg in (posts.card(_post(text=long_text)), introductions.introduction(intro)):
        validate_blocks(msg["blocks"])
        for block in msg["blocks"]:
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
    home = home_tab(
        MemberOverview(
            "Jo",
            "Devon",
            tuple(_post(n, text=long_text) for n in range(40)),
            (intro,) * 40,
            frozenset({1}),
        ),
        BrowsePage(
            BrowseFilter(), tuple(BrowseRow(_post(n), None, False, True) for n in range(10)), 40, ()
        ),
    )
    assert len(home["blocks"]) <= 100
    validate_view(home)


def test_modals_validate() -> None:
    for view in (
        modals.post_modal("want"),
        modals.post_modal("offer", text="x" * 5000),
        modals.join_modal(suggestions=[("ref:Devon County Council", "Devon County Council")]),
        modals.outcome_modal(_post()),
    ):
        validate_view(view)


def test_introduction_names_both_sides_and_shows_state() -> None:
    intro = IntroductionView(7, _post(), _post(2, "offer"), 77, ("information asset register",))
    msg = introductions.introduction(intro)
    validate_blocks(msg["blocks"])
    assert "Useful — we're talking" in str(msg["blocks"])
    done = introductions.introduction(
        IntroductionView(
            7, _post(), _post(2, "offer"), 77, (), status="confirmed", answered_by="U1"
        )
    )
    assert "Marked useful" in str(done["blocks"]) and "Useful — we're" not in str(done["blocks"])
