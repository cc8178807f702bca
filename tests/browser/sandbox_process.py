"""``kmbot sandbox`` as a real process, for the tests: start it, read its address, stop it.

(A helper module rather than a conftest.py: a second module named ``conftest`` would shadow
tests/conftest.py for tests that import from it.)
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

# The instants the tests pin the sandbox's clock to (KMBOT_SANDBOX_NOW; the network's zone).
THURSDAY_BEFORE_NUDGE = "2027-01-07T09:55:00"  # #cop-organisational-learning is nudged at 14:00


def sandbox_env(**extra: str) -> dict[str, str]:
    """This environment without kmbot's settings (so nothing real is named), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "KMBOT_")) and k not in ("DATABASE_URL", "PORT")
    }
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["KMBOT_LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


@dataclass
class RunningSandbox:
    """A running ``kmbot sandbox`` process."""

    proc: subprocess.Popen[str]
    url: str
    output: str  # what it printed up to and including its address
    stderr_path: Path

    @property
    def port(self) -> int:
        found = re.search(r":(\d+)/", self.url)
        assert found, self.url
        return int(found.group(1))

    stopped: tuple[int, str, str] | None = None

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C, as a person would; (exit code, everything printed, standard error)."""
        if self.stopped is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
            try:
                rest, _ = self.proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rest, _ = self.proc.communicate()
            self.stopped = (
                self.proc.returncode,
                self.output + (rest or ""),
                self.stderr_path.read_text(),
            )
        return self.stopped


def _wait_for_url(proc: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Read the sandbox's start-up message (its address, up to "Press Ctrl-C to stop")."""
    assert proc.stdout is not None
    # Straight from the pipe: a buffered reader would hold lines back from the selector.
    fd = proc.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break  # the process ended
        seen += chunk
        text = seen.decode("utf-8", "replace")
        found = re.search(r"open (http://\S+)", text)
        if found and "Ctrl-C" in text:  # the last line of the start-up message
            return found.group(1), text
    raise AssertionError(
        f"kmbot sandbox did not print its address within {timeout}s:\n"
        + seen.decode("utf-8", "replace")
    )


@contextmanager
def sandbox_process(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, *, timeout: float = 30
) -> Iterator[RunningSandbox]:
    """``kmbot sandbox ARGS`` in ``cwd``, stopped (if still running) on the way out."""
    stderr_path = cwd / "sandbox.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sandbox", *args],
            cwd=cwd,
            env=sandbox_env() if env is None else env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        running: RunningSandbox | None = None
        try:
            try:
                url, seen = _wait_for_url(proc, timeout=timeout)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nstderr:\n{stderr_path.read_text()}") from None
            running = RunningSandbox(proc, url, seen, stderr_path)
            yield running
        finally:
            if running is not None:
                running.stop()
            elif proc.poll() is None:
                proc.kill()
                proc.wait()


def act_as(page: Any, user: str) -> None:
    """Choose who the sandbox page acts as ("Acting as")."""
    page.get_by_test_id("member-picker").select_option(user)


def command(page: Any, text: str) -> None:
    """Type a message or slash command in the composer and send it."""
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")


# ---------------------------------------------------------------- fixtures the browser tests share
# (imported by each test module: a conftest.py here would shadow tests/conftest.py, which test
# modules import by name)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``kmbot sandbox --port 0`` in a temporary working directory, its clock pinned to
    Thursday 7 January 2027, 09:55; its page's address."""
    workdir = tmp_path_factory.mktemp("sandbox")
    env = sandbox_env(KMBOT_SANDBOX_NOW=THURSDAY_BEFORE_NUDGE)
    with sandbox_process(["--port", "0"], workdir, env) as running:
        yield running.url
        code, _, stderr = running.stop()
    assert code == 0, f"the sandbox exited with {code}:\n{stderr}"


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
