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
    out = run_bench("bench_import.py", "--quick", "--db", ENGINES, "--people", "councils,distinct")
    assert "kmbot import s" in out and "bulk insert s" in out
    for engine in ENGINES.split(","):
        assert f"200 rows on {engine}, one per council" in out
        assert f"200 rows on {engine}, 200 distinct" in out


@pytest.mark.skipif(sys.platform != "linux", reason="reads server memory from /proc")
def test_requests_bench_prints_kmbot_beside_bare_bolt_app() -> None:
    out = run_bench("bench_requests.py", "--quick", "--db", ENGINES, timeout=120)
    for header in ("p99 / bare p99", "card visible p99 ms", "posts/s", "confirmed", "lost"):
        assert header in out
    engines = ENGINES.split(",")
    # Acks: per engine, both apps on every scenario (steady at two client counts, the burst);
    # every request sent was acknowledged and none refused.
    rows = re.findall(
        r"^(\S+): (kmbot|bare Bolt app)\s+(steady C=\d+|burst)\s+([\d,]+)\s+([\d,]+)\s+(\d+)\s",
        out,
        re.MULTILINE,
    )
    assert len(rows) == 2 * 3 * len(engines)
    assert {(r[0], r[1]) for r in rows} == {
        (e, app) for e in engines for app in ("kmbot", "bare Bolt app")
    }
    assert all(int(r[3]) > 0 and r[3] == r[4] and r[5] == "0" for r in rows)
    # Posting: every acked post stored and confirmed once, none lost, no card missing.
    posting = re.findall(
        r"^(\S+): (steady C=\d+|burst)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+(\d+)\s+(\d+)\s+(\d+)"
        r"\s+\d+\s+(\d+)\s",
        out,
        re.MULTILINE,
    )
    assert len(posting) == 3 * len(engines)
    for _engine, _scenario, acked, stored, confirmed, dupes, lost, duplicated, no_card in posting:
        assert acked == stored == confirmed and int(acked) > 0
        assert (dupes, lost, duplicated, no_card) == ("0", "0", "0", "0")
    assert "Totals for kmbot: lost 0, duplicated 0, refused 0, unconfirmed 0" in out


def test_eval_matching_prints_batch_and_live_paths_beside_the_baseline_for_each_set() -> None:
    out = run_bench("eval_matching.py", "--orders", "1", "--sets", "eval,heldout")
    for heading in ("eval (tuned on)", "heldout (held out, never tuned on)"):
        assert heading in out
    assert out.count("engine, batch (kmbot matches)") == 2
    assert out.count("engine, live, mean of 1 orders") == 2
    assert out.count("engine, live, worst order") == 2
    assert out.count("(best)") == 2 and "token_set_ratio >=" in out


def test_eval_matching_refuses_an_unknown_set() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "eval_matching.py"), "--sets", "mine"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "unknown set mine" in done.stderr
