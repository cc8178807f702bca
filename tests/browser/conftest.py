"""``kmbot sandbox`` as a real process, and a Chromium to look at it with."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"


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
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "KMBOT_FACILITATORS", "SLACK_API_URL", "PORT")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["KMBOT_LOG_LEVEL"] = "WARNING"
    stderr_path = workdir / "sandbox.stderr"
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0"],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
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
    assert proc.returncode == 0, f"the sandbox exited with {proc.returncode}:\n" + \
        stderr_path.read_text()


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
