"""A file for a facilitator (an export, a chart), as the services hand it to the handlers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportFile:
    """A file for a facilitator: its name, content and title."""

    name: str
    content: bytes
    title: str
