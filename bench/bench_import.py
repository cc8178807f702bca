"""Importing a large workshop CSV with `kmbot import`, against a bare bulk insert of the same rows.

For each size and database engine: a generated workshop CSV (``council,name,email,kind,text,area``,
realistic texts) is imported into a fresh database by the real command (``kmbot import FILE.csv``
in a child process, as a facilitator runs it), timed from start to exit. Who wrote the rows is
chosen with ``--people``: ``councils`` (one participant per council, about 400 people, as a
workshop of the network's councils) or ``distinct`` (a different person on every row, so the
import adds as many members as rows). The baseline inserts the same number of posts (and, for
``distinct``, as many members) with SQLAlchemy Core ``executemany`` and nothing else (no parsing,
no council or member look-ups, no duplicate check): the floor for writing that many rows to that
database. Plain text; exits 0.

Usage: python bench/bench_import.py [--rows 10000,100000] [--db sqlite,postgresql]
       [--people councils,distinct] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import PostGenerator, write_workshop_csv  # noqa: E402
from bench.support import (  # noqa: E402
    ENGINES,
    ROOT,
    bench_database,
    machine_note,
    seed_open_posts,
    sizes,
    table,
)

PEOPLE = ("councils", "distinct")


def write_distinct_people_csv(path: Path, rows: int, seed: int = 11) -> Path:
    """A workshop CSV of ``rows`` distinct rows, each from a different person."""
    gen = PostGenerator(seed)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["council", "name", "email", "kind", "text", "area"])
        for n in range(rows):
            post = gen.post()
            writer.writerow(
                [
                    post.council,
                    f"Participant {n + 1}",
                    f"participant{n + 1}@example.gov.uk",
                    post.kind,
                    f"{post.text} #{n}",
                    post.area or "",
                ]
            )
    return path


def write_csv(path: Path, rows: int, people: str) -> Path:
    """The workshop CSV for this size and kind of people."""
    if people == "distinct":
        return write_distinct_people_csv(path, rows)
    return write_workshop_csv(path, rows)


def seed_members(url: str, count: int) -> None:
    """Bulk-insert ``count`` workshop members (one executemany): the floor for adding people."""
    from sqlalchemy import insert, select

    from storage import db
    from storage.models import Council, Member, Role

    engine = db.make_engine(url)
    try:
        with db.make_session_factory(engine).begin() as session:
            council_id = session.scalar(select(Council.id).limit(1))
            rows = [
                {
                    "slack_team_id": "",
                    "slack_user_id": None,
                    "name": f"Participant {n + 1}",
                    "email": f"participant{n + 1}@example.gov.uk",
                    "email_key": f"participant{n + 1}@example.gov.uk",
                    "council_id": council_id,
                    "role": Role.PRACTITIONER,
                }
                for n in range(count)
            ]
            for start in range(0, count, 5000):
                session.execute(insert(Member.__table__), rows[start : start + 5000])
    finally:
        engine.dispose()


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
    parser.add_argument(
        "--people",
        default="councils",
        help="who wrote the rows: councils (one participant per council), distinct (one per "
        "row), or both, e.g. councils,distinct",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args(argv)
    counts = [200] if args.quick else sizes(args.rows)
    engines = [e.strip() for e in args.db.split(",") if e.strip()]
    peoples = [p.strip() for p in args.people.split(",") if p.strip()]
    for people in peoples:
        if people not in PEOPLE:
            parser.error(f"--people: {people!r} is not one of {', '.join(PEOPLE)}")
    print("Import benchmark: `kmbot import FILE.csv` against a bare bulk insert of as many rows")
    print(f"Machine: {machine_note()}")
    rows = []
    rates: dict[tuple[str, str], dict[int, float]] = {}
    net_rates: dict[tuple[str, str], dict[int, float]] = {}
    with tempfile.TemporaryDirectory(prefix="kmbot-bench-import-") as tmp:
        # What every import pays whatever its size (starting Python, the reference councils,
        # the commit): a one-row file, per engine. Rows/s net of it shows how the work scales.
        one = write_csv(Path(tmp) / "workshop-one.csv", 1, "distinct")
        fixed: dict[str, float] = {}
        for engine in engines:
            with bench_database(engine, "import_fixed") as url:
                fixed[engine] = import_with_cli(url, one)[0]
        for people in peoples:
            for n in counts:
                path = write_csv(Path(tmp) / f"workshop-{people}-{n}.csv", n, people)
                for engine in engines:
                    with bench_database(engine, "import") as url:
                        seconds, said = import_with_cli(url, path)
                    with bench_database(engine, "import_base") as url:
                        started = time.perf_counter()
                        seed_open_posts(url, n)
                        if people == "distinct":
                            seed_members(url, n)
                        floor = time.perf_counter() - started
                    rates.setdefault((people, engine), {})[n] = n / seconds
                    net = n / max(seconds - fixed[engine], 1e-6)
                    net_rates.setdefault((people, engine), {})[n] = net
                    rows.append(
                        [
                            f"{n:,}",
                            _people_label(people, n),
                            engine,
                            seconds,
                            n / seconds,
                            net,
                            floor,
                            seconds / floor,
                        ]
                    )
                    print(
                        f"  {n:,} rows on {engine}, {_people_label(people, n)}: "
                        f"{seconds:.1f} s ({said}); {machine_note()}",
                        flush=True,
                    )
    print()
    print(
        table(
            [
                "rows",
                "people",
                "database",
                "kmbot import s",
                "rows/s",
                "net rows/s",
                "bulk insert s",
                "import / bulk",
            ],
            rows,
        )
    )
    scaling = [
        [
            people,
            engine,
            f"{min(r):,}",
            f"{max(r):,}",
            r[max(r)] / r[min(r)],
            net_rates[(people, engine)][max(r)] / net_rates[(people, engine)][min(r)],
        ]
        for (people, engine), r in rates.items()
        if len(r) > 1
    ]
    print()
    print(
        "fixed cost of any import (a one-row file): "
        + ", ".join(f"{engine} {seconds:.2f} s" for engine, seconds in fixed.items())
    )
    if scaling:
        print()
        print(
            table(
                ["people", "database", "from rows", "to rows", "rows/s ratio", "net ratio"],
                scaling,
            )
        )
        print(
            "rows/s ratio: rows/s at the largest size over rows/s at the smallest (1.00 = "
            "linear); net ratio: the same, net of the fixed cost."
        )
    print()
    print(
        "kmbot import's time includes starting Python, parsing and checking the CSV, resolving "
        "councils and members, the duplicate check and the commit. The bulk insert writes the "
        "posts (and, for distinct people, the members) and nothing else."
    )
    print(f"Machine after the runs: {machine_note()}")
    print(
        "Targets: 100,000 rows in <= 60 s on SQLite and <= 90 s on PostgreSQL, also from 100,000 "
        "distinct people; rows/s at 100,000 within 25% of rows/s at 10,000."
    )
    return 0


def _people_label(people: str, rows: int) -> str:
    return f"{rows:,} distinct" if people == "distinct" else "one per council"


if __name__ == "__main__":
    raise SystemExit(main())
