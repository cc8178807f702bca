"""Each benchmark runs at a tiny size and prints its figures beside its baseline.

These tests never assert how fast anything is (timings depend on the machine): only that the
scripts run, stop by themselves and print the tables the results file quotes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("KMBOT_TEST_DATABASE_URL", "").strip()
ENGINES = "sqlite,postgresql" if PG_URL else "sqlite"
# The benchmarks run in their own processes, on the real time.
pytestmark = pytest.mark.wall_clock


def run_bench(script: str, *args: str, timeout: float = 600) -> str:
    """Run a bench script as a facilitator would; its output, after checking it exited 0."""
    env = {**os.environ}
    if PG_URL:
        env["KMBOT_BENCH_PG_URL"] = PG_URL  # the benchmark creates and drops its own database
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_matching_bench_prints_engine_beside_scan_and_quality() -> None:
    out = run_bench("bench_matching.py", "--quick")
    assert "engine p50" in out and "scan p50" in out and "scan/engine p50" in out
    assert "1,000" in out  # one row per size
    assert "engine (all_matches, defaults)" in out and "scan baseline" in out
    assert "F1" in out


def test_import_bench_prints_import_beside_bulk_insert() -> None:
    out = run_bench("bench_import.py", "--quick", "--db", ENGINES)
    assert "kmbot import s" in out and "bulk insert s" in out
    for engine in ENGINES.split(","):
        assert f"200 rows on {engine}" in out


@pytest.mark.skipif(sys.platform != "linux", reason="reads server memory from /proc")
def test_requests_bench_prints_kmbot_beside_bare_bolt_app() -> None:
    out = run_bench("bench_requests.py", "--quick", "--db", ENGINES)
    assert "p99 / bare p99" in out and "peak RSS total MB" in out
    for engine in ENGINES.split(","):
        assert f"{engine}: kmbot" in out and f"{engine}: bare Bolt app" in out
    # Every request was acknowledged: the errors column is 0 for both apps on every engine.
    rows = re.findall(r"^\S+: (?:kmbot|bare Bolt app)\s+([\d,]+)\s+(\d+)\s", out, re.MULTILINE)
    assert len(rows) == 2 * len(ENGINES.split(","))
    assert all(int(acks.replace(",", "")) > 0 and errors == "0" for acks, errors in rows)
