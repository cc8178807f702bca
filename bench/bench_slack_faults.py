"""Introductions under Slack faults: every message once, and how soon the introduction lands.

Want/offer pairs go through the real posting service (``PostingService.publish``, one
transaction each, as the /want and /offer listeners call it) and the real outbox ``Deliverer``
(built by ``build_container``: the production client, 10 s timeout, production backoff, its
background thread kicked after each post as the listeners kick it) against the fake Slack on
loopback. Each round has its own database and fake Slack: a member of one council offers a
topic, then a member of another council wants it, for each topic of the reliability tests'
list (so each want meets exactly one offer). Run once with no faults, then with a share of the
outbox's Slack calls (posts, updates, history look-ups, channel look-ups) failing: 429 with
Retry-After, 500 (with or without the post having landed) and dropped connections (before or
after the post landed). ``--timeouts`` adds a run where the fake's "slow" fault (an answer after
the client's timeout) is in the mix too.

Printed per run: messages the outbox owed, delivered (each message found once in Slack),
duplicates, lost, still owed at the deadline, and each introduction's latency: from its want's
publish to the introduction message landing in the want's card thread at the fake.

Usage: python bench/bench_slack_faults.py [--rounds 3] [--rate 0.33] [--retry-after 1]
           [--db sqlite|postgresql] [--seed 7] [--timeouts]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the reliability tests' ledger and fault plan

from reliability.ledger import TOPICS, delivered, reconcile, settings_for  # noqa: E402
from reliability.test_slack_faults import DELIVERY_METHODS  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.support import bench_database, join_slack_members, machine_note, percentile, table  # noqa: E402
from bot.devtools.fakeslack import FakeSlack  # noqa: E402
from storage.models import OutboxMessage, OutboxStatus, PostKind  # noqa: E402

TEAM = "T0KMBOT"
MARKET = "C0MARKET"
TOKEN = "xoxb-test"  # as reliability.ledger.settings_for
# Everything that fails without leaving Slack silent: the outbox looks again within seconds.
ANSWERED_FAULTS = (
    "rate_limited",
    "server_error",
    "server_error_after",
    "drop_before",
    "drop_after",
)
SLOW_SECONDS = 12.0  # past the production client's 10 s timeout


@dataclass
class Run:
    """What one condition measured, over all its rounds."""

    name: str
    owed: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    not_sent: int = 0
    introductions: int = 0
    latencies: list[float] = field(default_factory=list)
    every_message: list[float] = field(default_factory=list)  # owed -> landed, all messages
    max_attempts: int = 0
    slack_calls: int = 0
    faults: int = 0
    attempts: int = 0
    seconds: float = 0.0


def one_round(
    engine: str,
    run: Run,
    *,
    faults: tuple[str, ...],
    rate: float,
    retry_after: int,
    seed: int,
    recheck: float | None,
    backoff_factor: float | None,
) -> None:
    """One database and one fake Slack: publish the pairs, wait for the outbox, reconcile."""
    from bot.container import build_container

    with bench_database(engine, "faults") as url, FakeSlack(bot_token=TOKEN) as fake:
        fake.add_channel(MARKET, "km-marketplace")
        offerers = [f"U0OFF{n:03d}" for n in range(len(TOPICS))]
        wanters = [f"U0WNT{n:03d}" for n in range(len(TOPICS))]
        for user in offerers + wanters:
            fake.add_user(user, name=user.lower(), real_name=user, team_id=TEAM)
        # Each member in a council of their own: a council is never introduced to itself.
        join_slack_members(url, offerers + wanters, TEAM)
        if faults:
            fake.set_faults(
                rate=rate,
                kinds=faults,
                seed=seed,
                retry_after=retry_after,
                slow_seconds=SLOW_SECONDS,
                methods=DELIVERY_METHODS,
            )
        container = build_container(settings_for(url, fake))
        deliverer = container.deliverer
        if recheck is not None:  # to compare with another pause after a 5xx or a dropped call
            deliverer.recheck_seconds = recheck
        if backoff_factor is not None:
            deliverer.backoff_factor = backoff_factor
        factory = container.session_factory
        deliverer.start()  # as bot.app does: kicked after each post, polling meanwhile
        published_at: dict[int, float] = {}  # introduction outbox id -> its want's publish time
        seen: set[int] = set()
        started = time.monotonic()
        try:
            for n, topic in enumerate(TOPICS):
                offer = container.posting.draft(PostKind.OFFER, f"Our {topic}")
                container.posting.publish(TEAM, offerers[n], offer)
                deliverer.kick()
                seen |= _introduction_ids(factory)
                want = container.posting.draft(PostKind.WANT, f"Looking for a {topic}")
                at = time.time()
                container.posting.publish(TEAM, wanters[n], want)
                deliverer.kick()
                new = _introduction_ids(factory) - seen
                seen |= new
                published_at.update(dict.fromkeys(new, at))
                time.sleep(0.2)  # members post a moment apart, not all in one instant
            deadline = time.monotonic() + 180
            while _pending(factory) and time.monotonic() < deadline:
                time.sleep(0.05)
            run.seconds += time.monotonic() - started
        finally:
            deliverer.stop()
        fake.clear_faults()
        ledger = reconcile(factory, fake)
        landed = delivered(fake)
        run.owed += ledger.owed
        run.delivered += ledger.posted + _updates_sent(factory)
        run.duplicated += len(ledger.duplicated)
        run.lost += len(ledger.lost)
        run.not_sent += len(ledger.not_sent)
        run.introductions += len(published_at)
        for oid, at in published_at.items():
            copies = landed.get(oid)
            if copies:
                run.latencies.append(float(copies[0].ts) - at)
        run.slack_calls += sum(c.method in DELIVERY_METHODS for c in fake.calls)
        run.faults += sum(fake.faults_injected.values())
        with factory() as session:
            for row in session.scalars(select(OutboxMessage)):
                run.attempts += row.attempts
                run.max_attempts = max(run.max_attempts, row.attempts)
                copies = landed.get(row.id)
                if copies:
                    run.every_message.append(float(copies[0].ts) - row.created_at.timestamp())
        container.close()


def _introduction_ids(factory: object) -> set[int]:
    with factory() as session:  # type: ignore[operator]
        stmt = select(OutboxMessage.id).where(OutboxMessage.kind == "introduction")
        return set(session.scalars(stmt))


def _updates_sent(factory: object) -> int:
    """Sent calls other than posts (updates: idempotent, so not counted for duplicates)."""
    with factory() as session:  # type: ignore[operator]
        stmt = select(func.count(OutboxMessage.id)).where(
            OutboxMessage.method != "chat.postMessage", OutboxMessage.status == OutboxStatus.SENT
        )
        return int(session.scalar(stmt) or 0)


def _pending(factory: object) -> int:
    with factory() as session:  # type: ignore[operator]
        stmt = select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
        return int(session.scalar(stmt) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run the conditions and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 12 pairs per condition")
    parser.add_argument("--rate", type=float, default=0.33, help="share of calls failing")
    parser.add_argument("--retry-after", type=int, default=1, help="the 429s' Retry-After")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeouts", action="store_true", help="add a run with slow answers")
    parser.add_argument(
        "--recheck",
        type=float,
        default=None,
        help="seconds before looking for a message after a 5xx or dropped connection "
        "(default: the outbox's own; 10 shows the old wait of the whole client timeout)",
    )
    parser.add_argument(
        "--backoff-factor",
        type=float,
        default=None,
        help="growth of the backoff per failed attempt (default: the outbox's own; 2 was the old)",
    )
    args = parser.parse_args(argv)
    # slack_sdk logs every failed call at ERROR and the outbox warns on each retry: expected here.
    logging.basicConfig(level=logging.CRITICAL)

    conditions: list[tuple[str, tuple[str, ...]]] = [
        ("no faults", ()),
        (f"{args.rate:.0%} failing: 429/500/drops", ANSWERED_FAULTS),
    ]
    if args.timeouts:
        conditions.append((f"{args.rate:.0%} failing, with timeouts", (*ANSWERED_FAULTS, "slow")))
    print(
        f"bench_slack_faults: {args.rounds} rounds x {len(TOPICS)} want/offer pairs per run, "
        f"database {args.db}, Retry-After {args.retry_after} s, seed {args.seed}, "
        f"recheck after a 5xx/drop {args.recheck if args.recheck is not None else 'default'}, "
        f"backoff factor {args.backoff_factor or 'default'}"
    )
    print(machine_note())
    runs = []
    for name, faults in conditions:
        run = Run(name)
        for r in range(args.rounds):
            one_round(
                args.db,
                run,
                faults=faults,
                rate=args.rate,
                retry_after=args.retry_after,
                seed=args.seed + r,
                recheck=args.recheck,
                backoff_factor=args.backoff_factor,
            )
        runs.append(run)
        print(f"  done: {name} ({run.seconds:.1f} s)", flush=True)
    print()
    print(
        table(
            [
                "run",
                "expected",
                "delivered",
                "duplicates",
                "lost",
                "still owed",
                "intros",
                "intro p50 s",
                "p95 s",
                "max s",
            ],
            [
                [
                    r.name,
                    r.owed,
                    r.delivered,
                    r.duplicated,
                    r.lost,
                    r.not_sent,
                    len(r.latencies),
                    percentile(r.latencies, 50),
                    percentile(r.latencies, 95),
                    max(r.latencies, default=0.0),
                ]
                for r in runs
            ],
        )
    )
    print()
    print(
        table(
            [
                "run",
                "outbox slack calls",
                "faults injected",
                "send attempts",
                "most attempts",
                "any message p95 s",
                "max s",
                "seconds",
            ],
            [
                [
                    r.name,
                    r.slack_calls,
                    r.faults,
                    r.attempts,
                    r.max_attempts,
                    percentile(r.every_message, 95),
                    max(r.every_message, default=0.0),
                    r.seconds,
                ]
                for r in runs
            ],
        )
    )
    print(machine_note())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
