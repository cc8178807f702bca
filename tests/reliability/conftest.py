"""Reliability tests: a summary of the figures they measured at the end of the run."""

from __future__ import annotations

from typing import Any

from reliability.reliability_figures import LINES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every figure the reliability tests measured, for docs/RELIABILITY.md."""
    if LINES:
        terminalreporter.section("reliability figures")
        for line in LINES:
            terminalreporter.write_line(line)
