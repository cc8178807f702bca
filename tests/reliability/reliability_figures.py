"""What each reliability test measured: a line on the console, and artifacts/reliability.json."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACT = Path(os.environ.get("KMBOT_RELIABILITY_JSON", ROOT / "artifacts" / "reliability.json"))
LINES: list[str] = []
_lock = threading.Lock()


def engine_of(url: str) -> str:
    """ "sqlite" or "postgresql", for naming figures."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def record(name: str, **figures: Any) -> str:
    """Print the figures a test measured and keep them in artifacts/reliability.json."""
    line = f"RELIABILITY {name}: " + ", ".join(
        f"{k.replace('_', ' ')}: {v}" for k, v in figures.items()
    )
    with _lock:
        LINES.append(line)
        print(line)
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = json.loads(ARTIFACT.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data[name] = figures
        ARTIFACT.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return line
