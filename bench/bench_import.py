"""Importing a large workshop CSV with `kmbot import`, against a bare bulk insert of the same rows.

For each size and database engine: a generated workshop CSV (``council,name,email,kind,text,area``,
realistic texts, about 400 councils and participants) is imported into a fresh database by the
real command (``kmbot import FILE.csv`` in a child process, as a facilitator runs it), timed from
start to exit. The baseline inserts the same number of rows with one SQLAlchemy Core
``executemany`` and nothing else (no parsing, no councils, no members, no duplicate check): the
floor for writing that many posts to that database. Plain text; exits 0.

Usage: python bench/bench_import.py [--rows 10000,100000] [--db sqlite,postgresql] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import write_workshop_csv  # noqa: E402
from bench.support import (  # noqa: E402
    ENGINES,
    ROOT,
    bench_database,
    machine_note,
    seed_open_posts,
    sizes,
    table,
)


def import_with_cli(url: str, path: Path) -> tuple[float, str]:
    """Run ``kmbot import`` on the file; seconds taken and its last line of output."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"kmbot import failed ({done.returncode}): {done.stderr[-2000:]}")
    first = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    return seconds, first


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000", help="CSV row counts, e.g. 10000,100000")
    parser.add_argument("--db", default=",".join(ENGINES), help="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args(argv)
    counts = [200] if args.quick else sizes(args.rows)
    engines = [e.strip() for e in args.db.split(",") if e.strip()]
    print("Import benchmark: `kmbot import FILE.csv` against a bare bulk insert of as many rows")
    print(f"Machine: {machine_note()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kmbot-bench-import-") as tmp:
        for n in counts:
            path = write_workshop_csv(Path(tmp) / f"workshop-{n}.csv", n)
            for engine in engines:
                with bench_database(engine, "import") as url:
                    seconds, said = import_with_cli(url, path)
                with bench_database(engine, "import_base") as url:
                    started = time.perf_counter()
                    seed_open_posts(url, n)
                    floor = time.perf_counter() - started
                rows.append([f"{n:,}", engine, seconds, n / seconds, floor, seconds / floor])
                print(f"  {n:,} rows on {engine}: {seconds:.1f} s ({said})", flush=True)
    print()
    print(
        table(
            ["rows", "database", "kmbot import s", "rows/s", "bulk insert s", "import / bulk"], rows
        )
    )
    print()
    print(
        "kmbot import's time includes starting Python, parsing and checking the CSV, resolving "
        "councils and members, the duplicate check and the commit."
    )
    print("Target: 100,000 rows in <= 60 s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
