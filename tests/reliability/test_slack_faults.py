"""Slack faults: with a third of Slack calls failing, everything owed arrives once and in order."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from slackkit import SlackDriver
from sqlalchemy import func, select

from bot.devtools.fakeslack import FAULT_KINDS
from bot.outbox.delivery import Deliverer, make_client
from bot.services.communities import add_community
from bot.services.nudges import send_nudge_now
from bot.services.reminders import send_expiry_reminders
from reliability.ledger import DOMAINS, TOPICS, delivered, reconcile
from reliability.reliability_figures import engine_of, record
from storage.models import OutboxMessage, utcnow

MARKET = "C0MARKET"
DELIVERY_METHODS = (
    "chat.postMessage",
    "chat.update",
    "conversations.history",
    "conversations.replies",
    "conversations.open",
    "conversations.list",
)
CLIENT_TIMEOUT = 0.5  # seconds; the fake's "slow" fault answers after 1.2 s, past it


def wait_for_listeners(slack: SlackDriver, timeout: float = 10.0) -> None:
    """Wait until every listener has finished (without delivering anything)."""
    deadline = time.monotonic() + timeout
    while not slack.executor.idle:
        assert time.monotonic() < deadline, "listeners still busy"
        time.sleep(0.01)
    assert not slack.executor.errors, f"a listener raised: {slack.executor.errors[0]!r}"


def fast_deliverer(slack: SlackDriver) -> Deliverer:
    """A deliverer whose client gives up quickly, so the fake's slow fault is a timeout."""
    client = make_client(slack.settings.slack_bot_token, slack.fake.url, timeout=CLIENT_TIMEOUT)  # type: ignore[arg-type]
    deliverer = Deliverer(
        client, slack.services.session_factory, backoff_base=0.05, backoff_cap=0.5
    )
    slack.services.deliverer = deliverer
    return deliverer


@pytest.mark.parametrize("seed", [7])
def test_every_card_introduction_nudge_and_reminder_arrives_once_with_a_third_failing(
    pg_slack: SlackDriver, seed: int
) -> None:
    slack, fake = pg_slack, pg_slack.fake
    fast_deliverer(slack)
    fake.add_channel("C0IMCOP", "im-cop")
    fake.add_channel("C0CFCOP", "cf-cop")
    fake.set_faults(
        rate=0.33,
        kinds=FAULT_KINDS,
        seed=seed,
        retry_after=1,
        slow_seconds=1.2,
        methods=DELIVERY_METHODS,
    )
    users = []
    for n, (domain, _council) in enumerate(DOMAINS[:8]):
        users.append(slack.user(f"U0M{n:03d}", f"Member {n}", f"member{n}@{domain}"))

    # Each council offers one topic and wants the next council's: every want meets an offer.
    for n, user in enumerate(users):
        assert slack.slash(user, "/offer", f"Our {TOPICS[n]}").status == 200
        wait_for_listeners(slack)
        assert (
            slack.slash(user, "/want", f"Looking for a {TOPICS[(n + 1) % len(users)]}").status
            == 200
        )
        wait_for_listeners(slack)
    started = time.monotonic()
    slack.settle(timeout=40)
    # Closing posts owes card updates (chat.update); nudges and reminders come from the worker.
    assert slack.slash(users[0], "/km", "close 1").status == 200
    assert slack.slash(users[1], "/km", "close 4 fulfilled").status == 200
    wait_for_listeners(slack)
    now = utcnow()
    with slack.services.session_factory.begin() as session:
        for channel, area in (("C0IMCOP", "IM"), ("C0CFCOP", "CF")):
            community = add_community(
                session,
                channel_id=channel,
                name=channel.lower(),
                area=area,
                weekday=1,
                time_of_day="10:00",
                now=now,
            )
            send_nudge_now(session, community, settings=slack.settings, now=now)
    reminders = send_expiry_reminders(
        slack.services.session_factory,
        settings=slack.settings,
        now=now + timedelta(days=slack.settings.expiry_days - 2),
    )
    assert reminders >= 10

    slack.settle(timeout=40)
    took = time.monotonic() - started
    fake.clear_faults()

    ledger = reconcile(slack.services.session_factory, fake)
    assert ledger.not_sent == [], f"outbox rows never sent: {ledger.not_sent}"
    assert ledger.lost == [], f"lost: {ledger.lost}"
    assert ledger.duplicated == [], f"duplicated: {ledger.duplicated}"
    assert ledger.kinds.get("card") == 16
    assert ledger.kinds.get("introduction", 0) >= 6
    assert ledger.kinds.get("nudge") == 2 and ledger.kinds.get("reminder") == reminders
    assert ledger.kinds.get("card_update", 0) >= 2

    # Order: each introduction sits in the thread of its want's card, posted after the card.
    by_id = delivered(fake)
    with slack.services.session_factory() as session:
        rows = {r.id: r for r in session.scalars(select(OutboxMessage))}
        attempts = int(session.scalar(select(func.sum(OutboxMessage.attempts))) or 0)
    in_order = 0
    for row in rows.values():
        if row.kind != "introduction":
            continue
        message = by_id[row.id][0]
        parent = rows[row.parent_id] if row.parent_id else None
        card_ts = parent.sent_ts if parent is not None else row.thread_ts
        assert message.thread_ts == card_ts, f"introduction {row.id} is not in its card's thread"
        assert float(message.ts) > float(card_ts or 0)
        in_order += 1
    # The closed posts' cards show their new state (chat.update is idempotent).
    cards = fake.messages(MARKET)
    assert sum("is withdrawn" in str(c.blocks) for c in cards) >= 1
    assert sum("is fulfilled" in str(c.blocks) for c in cards) >= 1

    calls = [c for c in fake.calls if c.method in DELIVERY_METHODS]
    faults = sum(fake.faults_injected.values())
    assert faults >= len(calls) * 0.2, "the fault plan should have bitten"
    record(
        f"slack faults ({engine_of(slack.settings.database_url)})",
        messages_owed=ledger.owed,
        posted=ledger.posted,
        updates=ledger.updates,
        introductions_in_order=in_order,
        slack_calls=len(calls),
        send_attempts=attempts,
        faults_injected=faults,
        **{f"faults_{k}": v for k, v in sorted(fake.faults_injected.items())},
        seconds=round(took, 1),
        lost=len(ledger.lost),
        duplicated=len(ledger.duplicated),
    )
