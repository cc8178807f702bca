"""The sandbox in a real browser: a facilitator starts a live marketplace session from the page,
a member posts, and the board in the channel shows the post's service area, updated in place.

``kmbot sandbox`` runs as a real process, its clock pinned to a Thursday morning; Debian's
Chromium, driven by Playwright, looks at it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sandbox_process import REPO, act_as, browser, command, sandbox_url

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO / "artifacts"
DELROY = "U0DELROY"  # London Borough of Lewisham
SARAH = "U0SARAH"  # Devon County Council
ALEX = "U0ALEX"  # a facilitator

WANT = "Bus lane enforcement cameras"
OFFER = "Homelessness prevention triage script and training"


def test_a_live_session_board_updates_in_place(browser: Any, sandbox_url: str) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(sandbox_url)
    messages = page.get_by_test_id("messages")
    expect(page.get_by_role("button", name="# km-marketplace")).to_be_visible()

    # The facilitator starts a 15-minute session in the marketplace channel.
    act_as(page, ALEX)
    command(page, "/km-admin session start 15")
    expect(messages).to_contain_text("Started a 15-minute marketplace session")
    board = page.get_by_test_id("message").filter(has_text="Live marketplace session")
    expect(board).to_have_count(1)
    expect(board).to_contain_text("0 posts so far")
    expect(board).to_contain_text("15 minutes left")

    # A member posts a want: the same board message now shows it, with its service area.
    act_as(page, DELROY)
    command(page, f"/want {WANT}")
    expect(messages).to_contain_text(WANT)
    expect(board).to_have_count(1)
    expect(board).to_contain_text("1 post so far (1 want, 0 offers)")
    expect(board).to_contain_text("Transport and highways: 1 want")

    # Another member's offer: still one board, updated again.
    act_as(page, SARAH)
    command(page, f"/offer {OFFER}")
    expect(board).to_contain_text("2 posts so far (1 want, 1 offer)")
    expect(board).to_contain_text("Housing: 1 offer")
    expect(board).to_have_count(1)

    # The facilitator sees the state, then ends it: the outputs follow in the channel.
    act_as(page, ALEX)
    command(page, "/km-admin session end")
    expect(messages).to_contain_text("Marketplace session outputs")
    expect(messages).to_contain_text("Wants still unmatched (1)")
    ended = page.get_by_test_id("message").filter(has_text="Marketplace session: ended at")
    expect(ended).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sandbox-session.png"))

    assert not problems, f"the page raised: {problems}"
    context.close()
