"""Recovering from Slack's errors quickly and safely: a 5xx or a closed connection is looked for
after a short pause (a timeout waits the whole client timeout), a 429 waits exactly its
Retry-After, and the listeners' own client retries what is safe to retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.devtools.fakeslack import FakeSlack
from bot.outbox.delivery import RECHECK_SECONDS, Deliverer, make_client
from bot.outbox.enqueue import enqueue
from storage import db
from storage.models import OutboxMessage, OutboxStatus, utcnow

MARKET = "C0MARKET"
CLIENT_TIMEOUT = 10  # the production client's timeout: every wait below is well short of it


class PinnedClock:
    """The deliverer's clock, moved by hand: retry times are read from it, never from the wall."""

    def __init__(self) -> None:
        # A moment after the rows' own timestamps (enqueue stamps them with the real clock).
        self.now = utcnow() + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on."""
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def session_factory(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite database of the test's own."""
    engine = db.make_engine(sqlite_url)
    try:
        yield db.make_session_factory(engine)
    finally:
        engine.dispose()


def owe_notice(session_factory: sessionmaker[Session], text: str = "Hello") -> int:
    """Owe Slack one message in the marketplace; its outbox id."""
    with session_factory.begin() as session:
        return enqueue(session, kind="notice", channel=MARKET, payload={"text": text}).id


def outbox_row(session_factory: sessionmaker[Session], msg_id: int) -> OutboxMessage:
    """The outbox row as stored now."""
    with session_factory() as session:
        row = session.get(OutboxMessage, msg_id)
        assert row is not None
        session.expunge(row)
        return row


def deliverer_for(
    fake: FakeSlack, session_factory: sessionmaker[Session], clock: PinnedClock
) -> Deliverer:
    """The outbox deliverer as production builds it, on a pinned clock."""
    client = make_client(fake.bot_token, fake.url, timeout=CLIENT_TIMEOUT, retries=False)
    return Deliverer(client, session_factory, clock=clock)


def scheduled_in(row: OutboxMessage, clock: PinnedClock) -> float:
    """Seconds from the clock's now to the row's next attempt."""
    return (row.next_attempt_at - clock.now).total_seconds()


@pytest.mark.parametrize("fault", ["server_error_after", "drop_after"])
def test_a_post_that_landed_despite_a_5xx_or_closed_connection_is_found_soon_not_resent(
    fake_slack: FakeSlack, session_factory: sessionmaker[Session], fault: str
) -> None:
    fake, clock = fake_slack, PinnedClock()
    deliverer = deliverer_for(fake, session_factory, clock)
    msg_id = owe_notice(session_factory)
    # The post lands, then Slack answers 500 (or closes the connection without answering).
    fake.set_faults(rate=1.0, kinds=[fault], methods={"chat.postMessage"}, max_faults=1)

    report = deliverer.deliver_due()
    assert report.failed == 1 and report.sent == 0
    assert len(fake.messages(MARKET)) == 1
    row = outbox_row(session_factory, msg_id)
    assert row.status == OutboxStatus.PENDING and row.uncertain
    # The look-up is due after the short recheck pause, not after the client's whole timeout.
    assert scheduled_in(row, clock) == pytest.approx(RECHECK_SECONDS)
    assert RECHECK_SECONDS < CLIENT_TIMEOUT

    clock.advance(RECHECK_SECONDS - 0.1)
    calls_before = len(fake.calls)
    assert deliverer.deliver_due().recovered == 0
    assert len(fake.calls) == calls_before, "nothing is tried before the pause is over"

    clock.advance(0.1)
    report = deliverer.deliver_due()
    assert report.recovered == 1 and report.sent == 0
    later = [c.method for c in fake.calls[calls_before:]]
    assert later == ["conversations.history"], "found by looking, never posted again"
    messages = fake.messages(MARKET)
    assert len(messages) == 1
    row = outbox_row(session_factory, msg_id)
    assert row.status == OutboxStatus.SENT and row.sent_ts == messages[0].ts
    assert [c.method for c in fake.calls_to("chat.postMessage")] == ["chat.postMessage"]


def test_a_500_that_posted_nothing_is_looked_for_then_posted_once(
    fake_slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    fake, clock = fake_slack, PinnedClock()
    deliverer = deliverer_for(fake, session_factory, clock)
    msg_id = owe_notice(session_factory)
    fake.set_faults(rate=1.0, kinds=["server_error"], methods={"chat.postMessage"}, max_faults=1)

    deliverer.deliver_due()
    assert fake.messages(MARKET) == []
    assert scheduled_in(outbox_row(session_factory, msg_id), clock) == pytest.approx(
        RECHECK_SECONDS
    )
    clock.advance(RECHECK_SECONDS)
    calls_before = len(fake.calls)
    assert deliverer.deliver_due().sent == 1
    assert [c.method for c in fake.calls[calls_before:]] == [
        "conversations.history",
        "chat.postMessage",
    ]
    assert len(fake.messages(MARKET)) == 1


def test_a_timeout_still_waits_the_whole_client_timeout_before_looking(
    fake_slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    fake, clock = fake_slack, PinnedClock()
    # A short client timeout, so the fake's slow answer is a real timeout in the client.
    client = make_client(fake.bot_token, fake.url, timeout=1, retries=False)
    deliverer = Deliverer(client, session_factory, clock=clock)
    msg_id = owe_notice(session_factory)
    fake.set_faults(
        rate=1.0, kinds=["slow"], slow_seconds=1.5, methods={"chat.postMessage"}, max_faults=1
    )

    report = deliverer.deliver_due()
    assert report.failed == 1
    row = outbox_row(session_factory, msg_id)
    assert row.uncertain
    # Slack may still be working on a call that never answered: wait out the whole timeout
    # (the backoff's jitter may add a little on top, never take anything off).
    assert scheduled_in(row, clock) >= 1.0
    assert "timed out" in (row.last_error or "").lower()


def test_a_429_is_retried_exactly_after_its_retry_after(
    fake_slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    fake, clock = fake_slack, PinnedClock()
    deliverer = deliverer_for(fake, session_factory, clock)
    msg_id = owe_notice(session_factory)
    fake.set_faults(
        rate=1.0,
        kinds=["rate_limited"],
        retry_after=7,
        methods={"chat.postMessage"},
        max_faults=1,
    )

    report = deliverer.deliver_due()
    assert report.errors["ratelimited"] == 1
    row = outbox_row(session_factory, msg_id)
    assert row.next_attempt_at == clock.now + timedelta(seconds=7)
    assert not row.uncertain, "a 429 posted nothing: no look-up needed"

    clock.advance(6.99)
    calls_before = len(fake.calls)
    deliverer.deliver_due()
    assert len(fake.calls) == calls_before, "not sooner than Slack asked"
    clock.advance(0.01)
    assert deliverer.deliver_due().sent == 1
    assert [c.method for c in fake.calls[calls_before:]] == ["chat.postMessage"]
    assert len(fake.messages(MARKET)) == 1


def test_a_429_after_an_uncertain_attempt_still_waits_exactly_its_retry_after(
    fake_slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    fake, clock = fake_slack, PinnedClock()
    deliverer = deliverer_for(fake, session_factory, clock)
    msg_id = owe_notice(session_factory)
    fake.set_faults(rate=1.0, kinds=["server_error"], methods={"chat.postMessage"}, max_faults=1)
    deliverer.deliver_due()
    clock.advance(RECHECK_SECONDS)
    fake.set_faults(
        rate=1.0,
        kinds=["rate_limited"],
        retry_after=7,
        methods={"chat.postMessage"},
        max_faults=1,
    )

    deliverer.deliver_due()  # looks (nothing there), posts, and is refused with Retry-After: 7
    row = outbox_row(session_factory, msg_id)
    assert row.next_attempt_at == clock.now + timedelta(seconds=7)
    assert row.uncertain, "the 500 may yet show: it is looked for again before posting"
    clock.advance(7)
    assert deliverer.deliver_due().sent == 1
    assert len(fake.messages(MARKET)) == 1


def test_the_deliverer_never_uses_a_retrying_client(
    fake_slack: FakeSlack, session_factory: sessionmaker[Session]
) -> None:
    fake, clock = fake_slack, PinnedClock()
    listeners_client = make_client(fake.bot_token, fake.url)
    assert listeners_client.retry_handlers, "the listeners' client retries"
    deliverer = Deliverer(listeners_client, session_factory, clock=clock)
    assert deliverer.client.retry_handlers == []
    assert listeners_client.retry_handlers, "the caller's client is left as it was"
    # A closed connection after posting is not retried blindly: one post, found by looking.
    msg_id = owe_notice(session_factory)
    fake.set_faults(rate=1.0, kinds=["drop_after"], methods={"chat.postMessage"}, max_faults=1)
    deliverer.deliver_due()
    assert len(fake.calls_to("chat.postMessage")) == 1
    clock.advance(RECHECK_SECONDS)
    assert deliverer.deliver_due().recovered == 1
    assert len(fake.messages(MARKET)) == 1
    assert outbox_row(session_factory, msg_id).status == OutboxStatus.SENT


@pytest.mark.parametrize("fault", ["rate_limited", "drop_before"])
def test_the_listeners_client_retries_a_429_or_a_dropped_connection_on_users_info(
    fake_slack: FakeSlack, fault: str
) -> None:
    fake = fake_slack
    fake.add_user("U0ANN", name="ann", real_name="Ann Example", email="ann@devon.gov.uk")
    # Retry-After: 0 keeps the test quick (the handler waits it plus under a second).
    fake.set_faults(rate=1.0, kinds=[fault], retry_after=0, methods={"users.info"}, max_faults=1)
    client = make_client(fake.bot_token, fake.url)

    answer = client.users_info(user="U0ANN")

    assert answer["ok"] and answer["user"]["real_name"] == "Ann Example"
    assert [c.outcome for c in fake.calls_to("users.info")] == [fault, "ok"]


def test_the_listeners_client_does_not_repeat_an_ephemeral_after_a_dropped_connection(
    fake_slack: FakeSlack,
) -> None:
    fake = fake_slack
    fake.add_user("U0ANN", name="ann", real_name="Ann Example", email="ann@devon.gov.uk")
    fake.add_channel(MARKET, "km-marketplace")
    # The reply lands, then the connection drops: sending it again would show it twice.
    fake.set_faults(rate=1.0, kinds=["drop_after"], methods={"chat.postEphemeral"}, max_faults=1)
    client = make_client(fake.bot_token, fake.url)

    with pytest.raises(Exception):  # noqa: B017 - whichever error urllib raises for the drop
        client.chat_postEphemeral(channel=MARKET, user="U0ANN", text="Your want is posted.")

    assert len(fake.calls_to("chat.postEphemeral")) == 1
    assert len(fake.ephemerals("U0ANN")) == 1
