"""The sandbox in a real browser: editing a post from its card, App Home's filters and its
"I can help", the message shortcut that turns a question in a community's channel into a want,
and reporting a card to the facilitators.

``kmbot sandbox`` runs as a real process, its clock pinned to a Thursday morning; Debian's
Chromium, driven by Playwright, looks at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_process import act_as, browser, command, sandbox_url

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SARAH = "U0SARAH"  # Devon County Council
DELROY = "U0DELROY"  # London Borough of Lewisham
ALEX = "U0ALEX"  # a facilitator
OFFER = "Our data protection impact assessment template, with worked examples"
EDITED = "Our DPIA template, with worked examples and a short training video"
QUESTION = "Has anyone got a social media policy for council staff we could borrow?"


@pytest.fixture
def page(browser: Any, sandbox_url: str) -> Iterator[Any]:
    """A fresh page on the sandbox; fails the test if the page's script raised."""
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(sandbox_url)
    yield page
    context.close()
    assert not problems, f"the page raised: {problems}"


def test_editing_a_post_from_its_card(page: Any) -> None:
    from playwright.sync_api import expect

    messages = page.get_by_test_id("messages")
    modal = page.get_by_test_id("modal")
    expect(messages).to_contain_text("Offer #1")
    act_as(page, SARAH)
    command(page, f"/offer {OFFER}")
    card = page.get_by_test_id("message").filter(has_text=OFFER).filter(has_text="can share")
    expect(card).to_be_visible()

    # Someone else pressing Edit is told, only them, that it is not theirs.
    act_as(page, DELROY)
    card.get_by_role("button", name="Edit").click()
    expect(messages).to_contain_text("Only the person who posted")
    expect(modal).to_be_hidden()

    act_as(page, SARAH)
    card.get_by_role("button", name="Edit").click()
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("Edit Offer #")
    text = modal.get_by_label("What can your council share?")
    expect(text).to_have_value(OFFER)
    text.fill(EDITED)
    modal.get_by_role("button", name="Save").click()
    expect(modal).to_be_hidden()
    edited = page.get_by_test_id("message").filter(has_text=EDITED).filter(has_text="can share")
    expect(edited).to_be_visible()
    expect(edited).to_contain_text("(edited)")
    expect(messages).not_to_contain_text(OFFER)


def test_app_home_filters_narrow_the_list(page: Any) -> None:
    from playwright.sync_api import expect

    act_as(page, DELROY)
    page.get_by_role("button", name="kmbot · Home").click()
    home = page.get_by_test_id("app-home")
    expect(home).to_contain_text("Browse open wants and offers")
    expect(home).to_contain_text(re.compile(r"\d+ open posts match"))
    everything = int(re.search(r"(\d+) open posts match", home.inner_text()).group(1))  # type: ignore[union-attr]

    home.get_by_label("Kind").select_option(label="Offers")
    expect(home).to_contain_text(re.compile(r"\d+ open offers? match"))
    offers = int(re.search(r"(\d+) open offers? match", home.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < offers < everything
    # The menu shows what was chosen (the filter travels with the published view).
    expect(home.get_by_label("Kind").locator("option:checked")).to_have_text("Offers")

    home.get_by_label("KM area").select_option(label="Information Management")
    # Wait for the Home published for the new filter (the old count is on the page until then).
    expect(home).not_to_contain_text(f"{offers} open offers match")
    found = re.search(r"(\d+|No) open offers? match", home.inner_text())
    assert found is not None
    narrowed = 0 if found.group(1) == "No" else int(found.group(1))
    # The example workshop has information management offers, and offers in other areas.
    assert 0 < narrowed < offers
    expect(home.get_by_label("Kind").locator("option:checked")).to_have_text("Offers")
    browse = home.inner_text().split("Browse open wants and offers", 1)[1]
    assert "Want #" not in browse
    assert len(re.findall(r"Offer #\d+", browse)) == min(narrowed, 10)


def test_the_message_shortcut_turns_a_question_into_a_want(page: Any) -> None:
    from playwright.sync_api import expect

    modal = page.get_by_test_id("modal")
    messages = page.get_by_test_id("messages")
    act_as(page, DELROY)
    page.get_by_role("button", name="# cop-organisational-learning").click()
    command(page, QUESTION)
    question = page.get_by_test_id("message").filter(has_text=QUESTION)
    expect(question).to_be_visible()
    question.hover()
    question.get_by_test_id("message-more").click()
    question.get_by_role("menuitem", name="Post as a want / offer").click()
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("Post a want or offer")
    expect(modal.get_by_label("What does your council need, or can it share?")).to_have_value(
        QUESTION
    )
    modal.get_by_role("button", name="Post").click()
    expect(modal).to_be_hidden()
    page.get_by_role("button", name="# km-marketplace").click()
    card = messages.get_by_test_id("message").filter(has_text=QUESTION).filter(has_text="needs")
    expect(card).to_be_visible()
    expect(card).to_contain_text("London Borough of Lewisham")

    # The global shortcut opens the same form, empty.
    page.get_by_test_id("shortcuts-button").click()
    page.get_by_role("menuitem", name="Post a want or offer").click()
    expect(modal).to_be_visible()
    expect(modal.get_by_label("What does your council need, or can it share?")).to_have_value("")
    modal.get_by_role("button", name="Cancel").click()
    expect(modal).to_be_hidden()


def test_i_can_help_from_app_home(page: Any) -> None:
    from playwright.sync_api import expect

    act_as(page, SARAH)
    command(page, "/offer Beekeeping guidance for allotment officers, with a risk assessment")
    act_as(page, DELROY)
    want = "A staff newsletter editorial calendar for a borough"
    command(page, f"/want {want}")
    expect(page.get_by_test_id("messages")).to_contain_text(want)

    act_as(page, SARAH)
    page.get_by_role("button", name="kmbot · Home").click()
    home = page.get_by_test_id("app-home")
    home.get_by_label("Kind").select_option(label="Wants")
    row = home.locator(".bk-section").filter(has_text=want)
    expect(row).to_be_visible()
    row.get_by_role("button", name="I can help").click()
    # The answer is shown at the top of the Home, which stays on the wants.
    expect(home).to_contain_text(re.compile(r"I've introduced Want #\d+ and Offer #\d+"))
    expect(home.get_by_label("Kind").locator("option:checked")).to_have_text("Wants")
    row.get_by_role("button", name="I can help").click()
    expect(home).to_contain_text("have already been introduced")


def test_reporting_a_card_to_the_facilitators(page: Any) -> None:
    from playwright.sync_api import expect

    modal = page.get_by_test_id("modal")
    messages = page.get_by_test_id("messages")
    act_as(page, DELROY)
    page.get_by_role("button", name="# km-marketplace").click()
    card = messages.get_by_test_id("message").filter(has_text="Offer #1").first
    expect(card).to_be_visible()
    card.hover()
    card.get_by_test_id("message-more").click()
    card.get_by_role("menuitem", name="Report to facilitators").click()
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("Offer #1")
    modal.get_by_label("What's the problem?").fill("It names a member of the public")
    modal.get_by_role("button", name="Send report").click()
    expect(modal).to_be_hidden()

    act_as(page, ALEX)
    page.get_by_role("button", name="kmbot", exact=True).click()
    expect(messages).to_contain_text("reported Offer #1")
    expect(messages).to_contain_text("It names a member of the public")
    command(page, "/km-admin reports")
    expect(messages).to_contain_text("post.report")
