"""Where the shipped reference data lives (``bot/data``): councils, glossary, prompts, examples."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
EXAMPLE_WORKSHOP = DATA_DIR / "example-workshop.csv"
PROMPTS_FILE = DATA_DIR / "prompts.csv"
