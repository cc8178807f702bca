"""The sandbox in a real browser: posting, an introduction, answering it, a modal, /km-admin,
and the page at a phone's width.

``kmbot sandbox`` runs as a real process, its clock pinned to a Thursday morning; Debian's
Chromium, driven by Playwright, looks at it.
"""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest
from sandbox_process import REPO, act_as, browser, command, sandbox_url

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"

SARAH = "U0SARAH"  # Devon County Council
DELROY = "U0DELROY"  # London Borough of Lewisham
HELEN = "U0HELEN"  # Wiltshire Council: a stranger to their introduction
ALEX = "U0ALEX"  # a facilitator

OFFER = "Chatbot for council tax enquiries - our scripts, intents and lessons learned"
WANT = "Help building a council tax chatbot - scripts and intents"
MODAL_WANT = "Examples of a records retention schedule for a London borough"


def test_a_demonstration_in_the_browser(
    browser: Any, sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
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
    act_as(page, SARAH)
    command(page, f"/offer {OFFER}")
    expect(messages).to_contain_text(OFFER)
    expect(messages).to_contain_text("Only visible to you")
    act_as(page, DELROY)
    command(page, f"/want {WANT}")
    want_card = (
        page.get_by_test_id("message")
        .filter(has_text=WANT)
        .filter(has_text="London Borough of Lewisham")
    )
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
    act_as(page, HELEN)
    intro.get_by_role("button", name="Useful — we're talking").click()
    expect(thread).to_contain_text("Only the two people introduced can answer this introduction")
    expect(intro).to_contain_text("Useful — we're talking")

    # A party can: everyone sees the new state.
    act_as(page, DELROY)
    intro.get_by_role("button", name="Useful — we're talking").click()
    expect(intro).to_contain_text("Marked useful — they're talking by @Delroy Okafor")
    expect(intro.get_by_role("button", name="Useful — we're talking")).to_have_count(0)
    expect(thread).to_contain_text("Thanks — marked useful")
    _screenshot(page, capsys)

    # /want alone opens the modal; an empty text is refused before it is sent; then it posts.
    page.get_by_role("button", name="Close thread").click()
    command(page, "/want")
    expect(modal).to_be_visible()
    expect(modal).to_contain_text("Post a want")
    modal.get_by_role("button", name="Post").click()
    expect(modal).to_contain_text("Please complete this required field.")
    modal.get_by_label("What does your council need?").fill(MODAL_WANT)
    modal.get_by_label("Knowledge area").select_option(label="Information Management")
    modal.get_by_role("button", name="Post").click()
    expect(modal).to_be_hidden()
    expect(messages).to_contain_text(MODAL_WANT)
    expect(messages).to_contain_text("Information Management")

    # The facilitator asks for the statistics.
    act_as(page, ALEX)
    command(page, "/km-admin stats")
    expect(messages).to_contain_text("Councils and members by region")
    expect(messages).to_contain_text("Introductions")

    # A week in a minute: run the next community nudge now. It is Thursday morning in the
    # sandbox, and #cop-organisational-learning is nudged at 14:00: later today, not in days.
    clock = page.get_by_test_id("clock")
    expect(clock).to_contain_text("Sandbox time: Thu 7 Jan 2027, 09:5")
    jobs = page.get_by_label("Which job to run")
    expect(jobs).to_contain_text("Weekly nudge in #cop-organisational-learning, today, 14:00")
    jobs.select_option("nudge")
    page.get_by_test_id("run-job").click()
    expect(clock).to_have_text(re.compile(r"^Sandbox time: Thu 7 Jan 2027, 14:0\d \(\+4 hours\)$"))
    page.get_by_role("button", name="# cop-organisational-learning").click()
    expect(messages).not_to_contain_text("Nothing here yet")
    expect(messages).to_contain_text("Organisational Learning")

    # App Home shows the member's posts.
    act_as(page, SARAH)
    page.get_by_role("button", name="kmbot · Home").click()
    expect(page.get_by_test_id("app-home")).to_contain_text("Your open posts")
    expect(page.get_by_test_id("app-home")).to_contain_text(OFFER)

    assert not problems, f"the page raised: {problems}"
    context.close()


PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
PHONE_OFFER = "Knowledge café toolkit: running cafés across service teams, with templates"
PHONE_WANT = "A toolkit for running knowledge cafés across service teams"


def _box(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not laid out"
    return box  # type: ignore[no-any-return]


def _fits_across(locator: Any, width: int, *, at_least: float = 0.0) -> None:
    """The element lies within the viewport's width and fills ``at_least`` of it."""
    box = _box(locator)
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (box, width)
    assert box["width"] >= at_least * width, (box, width)


def test_the_page_at_a_phones_width_and_at_a_laptops(browser: Any, sandbox_url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(sandbox_url)
    messages = page.get_by_test_id("messages")
    thread = page.get_by_test_id("thread")
    menu = page.get_by_test_id("menu-button")
    sidebar = page.get_by_test_id("sidebar")
    picker = page.get_by_test_id("member-picker")

    # The marketplace takes the whole width; nothing in it is cut off.
    expect(messages).to_contain_text("Offer #1")
    _fits_across(messages, PHONE["width"], at_least=0.9)
    for card in page.get_by_test_id("message").all()[:5]:
        _fits_across(card, PHONE["width"])
    assert page.evaluate(
        "(() => { const m = document.getElementById('messages');"
        " return m.scrollWidth <= m.clientWidth; })()"
    ), "the marketplace's messages are wider than the screen"
    _fits_across(page.get_by_test_id("composer"), PHONE["width"], at_least=0.6)
    expect(page.get_by_test_id("run-job")).to_be_visible()
    _fits_across(page.get_by_test_id("run-job"), PHONE["width"])

    # The sidebar is a menu: shut until the button opens it; "Acting as" is in it.
    expect(sidebar).to_be_hidden()
    expect(picker).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(sidebar).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    _fits_across(sidebar, PHONE["width"])
    expect(picker).to_be_visible()
    act_as(page, "U0RUKHSANA")
    expect(sidebar).to_contain_text("Rukhsana Begum-Hale · London Borough of Tower Hamlets")
    expect(page.get_by_test_id("clock")).to_be_visible()
    # Choosing a conversation closes the menu.
    sidebar.get_by_role("button", name="# km-marketplace").click()
    expect(sidebar).to_be_hidden()
    command(page, f"/offer {PHONE_OFFER}")
    expect(messages).to_contain_text(PHONE_OFFER)

    # The menu also closes from its button and with Escape.
    menu.click()
    act_as(page, HELEN)
    expect(sidebar).to_contain_text("Helen Marchbank · Wiltshire Council")
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    command(page, f"/want {PHONE_WANT}")
    want_card = (
        messages.get_by_test_id("message")
        .filter(has_text=PHONE_WANT)
        .filter(has_text="Wiltshire Council")
    )
    expect(want_card).to_be_visible()

    # A thread opens over the channel, the whole width, and closes again.
    want_card.get_by_role("button", name=re.compile(r"^\d+ repl")).click()
    expect(thread).to_be_visible()
    expect(thread).to_contain_text(PHONE_OFFER)
    _fits_across(thread, PHONE["width"], at_least=0.99)
    close = thread.get_by_role("button", name="Close thread")
    expect(close).to_be_visible()
    close.click()
    expect(thread).to_be_hidden()
    expect(want_card).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sandbox-phone.png"))

    # At a laptop's width the layout is the desktop one: the sidebar beside the channel, the
    # controls in the top bar, no menu button, and a thread beside the channel.
    page.set_viewport_size(LAPTOP)
    expect(menu).to_be_hidden()
    expect(sidebar).to_be_visible()
    side = _box(sidebar)
    assert (side["x"], side["width"]) == (0, 220), side
    for control in (picker, page.get_by_test_id("clock"), page.get_by_test_id("run-job")):
        expect(control).to_be_visible()
        assert _box(control)["y"] + _box(control)["height"] <= 44, control  # in the top bar
    expect(page.get_by_label("Which job to run")).to_be_visible()
    want_card.get_by_role("button", name=re.compile(r"^\d+ repl")).click()
    expect(thread).to_be_visible()
    pane = _box(thread)
    assert pane["width"] == 420 and pane["x"] + pane["width"] == LAPTOP["width"], pane
    listing = _box(messages)
    assert listing["x"] == 220 and listing["x"] + listing["width"] <= pane["x"], listing

    assert not problems, f"the page raised: {problems}"
    context.close()


def _screenshot(page: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Keep a screenshot as a CI artefact and as the README's picture."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "sandbox.png"
    page.screenshot(path=str(path))
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    shutil.copyfile(path, docs / "sandbox.png")
    with capsys.disabled():  # shown in CI's output even though the test passes
        print(f"\nSandbox screenshot (CI artefact): {path}")
