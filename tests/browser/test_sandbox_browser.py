"""The sandbox in a real browser: posting, an introduction, answering it, a modal, /km-admin."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"

SARAH = "U0SARAH"  # Devon County Council
DELROY = "U0DELROY"  # London Borough of Lewisham
HELEN = "U0HELEN"  # Wiltshire Council: a stranger to their introduction
ALEX = "U0ALEX"  # a facilitator

OFFER = "Chatbot for council tax enquiries - our scripts, intents and lessons learned"
WANT = "Help building a council tax chatbot - scripts and intents"


def _act_as(page: Any, user: str) -> None:
    page.get_by_test_id("member-picker").select_option(user)


def _command(page: Any, text: str) -> None:
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


def test_a_demonstration_in_the_browser(browser: Any, sandbox_url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(sandbox_url)

    messages = page.get_by_test_id("messages")
    thread = page.get_by_test_id("thread")
    modal = page.get_by_test_id("modal")

    # The example workshop's cards are in the marketplace.
    expect(page.get_by_role("button", name="# km-marketplace")).to_be_visible()
    expect(messages).to_contain_text("Offer #1")
    expect(messages).to_contain_text("Devon County Council")

    # Devon posts an offer; Lewisham posts a want that matches it.
    _act_as(page, SARAH)
    _command(page, f"/offer {OFFER}")
    expect(messages).to_contain_text(OFFER)
    expect(messages).to_contain_text("Only visible to you")
    _act_as(page, DELROY)
    _command(page, f"/want {WANT}")
    want_card = page.get_by_test_id("message").filter(has_text=WANT).filter(
        has_text="London Borough of Lewisham")
    expect(want_card).to_be_visible()

    # The introduction is in the want's thread and names both members and councils.
    want_card.get_by_role("button", name="1 reply").click()
    expect(thread).to_be_visible()
    intro = thread.get_by_test_id("message").filter(has_text="meet")
    expect(intro).to_contain_text("@Delroy Okafor")
    expect(intro).to_contain_text("@Sarah Pengelly")
    expect(intro).to_contain_text("Devon County Council")
    expect(intro).to_contain_text("London Borough of Lewisham")
    expect(intro).to_contain_text("sarah.pengelly@devon.gov.uk")

    # A stranger cannot answer it.
    _act_as(page, HELEN)
    intro.get_by_role("button", name="Useful — we're talking").click()
    expect(thread).to_contain_text("Only the two people introduced can answer this introduction")
    expect(intro).to_contain_text("Useful — we're talking")

    # A party can: everyone sees the new state.
    _act_as(page, DELROY)
    intro.get_by_role("button", name="Useful — we're talking").click()
    expect(intro).to_contain_text("Marked useful — they're talking by @Delroy Okafor")
    expect(intro.get_by_role("button", name="Useful — we're talking")).to_have_count(0)
    expect(thread).to_contain_text("Thanks — marked useful")
    _screenshot(page)

    # /want alone opens the modal; an empty text is refused before it is sent; then it posts.
    page.get_by_role("button", name="Close thread").click()
    _command(page, "/want")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("Post a want")
    modal.get_by_role("button", name="Post").click()
    expect(modal).to_contain_text("Please complete this required field.")
    modal.get_by_label("What does your council need?").fill(
        "Examples of a records retention schedule for a London borough")
    modal.get_by_label("Knowledge area").select_option(label="Information Management")
    modal.get_by_role("button", name="Post").click()
    expect(modal).to_be_hidden()
    expect(messages).to_contain_text("Examples of a records retention schedule for a London borough")
    expect(messages).to_contain_text("Information Management")

    # The facilitator asks for the statistics.
    _act_as(page, ALEX)
    _command(page, "/km-admin stats")
    expect(messages).to_contain_text("Councils and members by region")
    expect(messages).to_contain_text("Introductions")

    # A week in a minute: run the next community nudge now.
    page.get_by_label("Which job to run").select_option("nudge")
    page.get_by_test_id("run-job").click()
    page.get_by_role("button", name="# cop-information-management").click()
    expect(messages).not_to_contain_text("Nothing here yet")
    expect(page.get_by_test_id("clock")).to_contain_text("days")

    # App Home shows the member's posts.
    _act_as(page, SARAH)
    page.get_by_role("button", name="kmbot · Home").click()
    expect(page.get_by_test_id("app-home")).to_contain_text("Your open posts")
    expect(page.get_by_test_id("app-home")).to_contain_text(OFFER)

    assert not problems, f"the page raised: {problems}"
    context.close()


def _screenshot(page: Any) -> None:
    """Keep a screenshot as a CI artefact and as the README's picture."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "sandbox.png"
    page.screenshot(path=str(path))
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    shutil.copyfile(path, docs / "sandbox.png")
    print(f"\nSandbox screenshot (CI artefact): {path}")
