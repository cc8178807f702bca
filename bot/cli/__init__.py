"""The ``kmbot`` command line: ``main`` parses the arguments and runs a subcommand."""

from __future__ import annotations

from bot.cli.main import main

__all__ = ["main"]
