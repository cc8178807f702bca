"""A small progress bar for long command-line work (drawn only on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """Draws ``label [#####     ] 42% 4,200/10,000`` on stderr, at most ten times a second."""

    def __init__(
        self, total: int, label: str, *, stream: TextIO | None = None, force: bool = False
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = force or (hasattr(self.stream, "isatty") and self.stream.isatty())
        self._last = 0.0
        self._drawn = False

    def update(self, done: int) -> None:
        """Show that ``done`` of ``total`` are finished."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        filled = int(frac * 30)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{' ' * (30 - filled)}] {frac:4.0%} "
            f"{done:,}/{self.total:,}"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Finish the line."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
