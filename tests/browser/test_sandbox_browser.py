"""The sandbox in a real browser: posting, an introduction, answering it, a modal, /km-admin.

``kmbot sandbox`` runs as a real process; Debian's Chromium, driven by Playwright, looks at it.
(The fixtures live here rather than in a conftest.py: a second module named ``conftest`` would
shadow tests/conftest.py for tests that import from it.)
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _wait_for_url(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Read the sandbox's output until it prints its address; (url, output so far)."""
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = proc.stdout.readline()
        if not line:
            break  # the process ended
        seen += line
        found = re.search(r"open (http://\S+)", line)
        if found:
            return found.group(1), seen
    raise AssertionError(f"kmbot sandbox did not print its address within {timeout}s:\n{seen}")


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``kmbot sandbox --port 0`` in a temporary working directory; its page's address."""
    workdir = tmp_path_factory.mktemp("sandbox")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KMBOT_FACILITATORS", "SLACK_API_URL", "PORT")
    }
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["KMBOT_LOG_LEVEL"] = "WARNING"
    stderr_path = workdir / "sandbox.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0"],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            try:
                url, _ = _wait_for_url(proc, timeout=30)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nstderr:\n{stderr_path.read_text()}") from None
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, (
        f"the sandbox exited with {proc.returncode}:\n" + stderr_path.read_text()
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (``playwright install`` cannot download here)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/browser-deps.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[dev,browser]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


SARAH = "U0SARAH"  # Devon County Council
DELROY = "U0DELROY"  # London Borough of Lewisham
HELEN = "U0HELEN"  # Wiltshire Council: a stranger to their introduction
ALEX = "U0ALEX"  # a facilitator

OFFER = "Chatbot for council tax enquiries - our scripts, intents and lessons learned"
WANT = "Help building a council tax chatbot - scripts and intents"
MODAL_WANT = "Examples of a records retention schedule for a London borough"


def _act_as(page: Any, user: str) -> None:
    page.get_by_test_id("member-picker").select_option(user)


def _command(page: Any, text: str) -> None:
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


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
    _act_as(page, SARAH)
    _command(page, f"/offer {OFFER}")
    expect(messages).to_contain_text(OFFER)
    expect(messages).to_contain_text("Only visible to you")
    _act_as(page, DELROY)
    _command(page, f"/want {WANT}")
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
    _screenshot(page, capsys)

    # /want alone opens the modal; an empty text is refused before it is sent; then it posts.
    page.get_by_role("button", name="Close thread").click()
    _command(page, "/want")
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
