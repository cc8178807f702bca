"""Delivering the outbox to Slack: retried with backoff, never sent twice.

``Deliverer`` claims due messages, sends them and records the outcome; the Slack calls
themselves are in ``bot.outbox.slack_calls``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.outbox.slack_calls import (
    METADATA_EVENT,
    SlackCalls,
    Snapshot,
    call_finished,
    make_client,
    retry_after,
    without_retries,
)
from storage.models import Introduction, OutboxMessage, OutboxStatus, Post, utcnow

__all__ = ["MAX_ATTEMPTS", "METADATA_EVENT", "Deliverer", "DeliveryReport", "make_client"]

logger = logging.getLogger(__name__)

# Errors that will not cure themselves; retried slowly in case an admin fixes the app's set-up.
_PERMANENT = {
    "channel_not_found",
    "is_archived",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "user_not_found",
    "cannot_dm_bot",
    "invalid_arguments",
    "message_not_found",
    "cant_update_message",
}
MAX_ATTEMPTS = 12
# After an answer that ended the call without saying what happened (a 5xx, a connection reset or
# closed by Slack), how long to wait before looking for the message: the call is over, so a short
# pause for Slack's history to show a post that landed is enough (a timeout waits the client's
# whole timeout instead, as Slack may still be working on the call).
RECHECK_SECONDS = 1.5
# Each failed attempt waits this much longer than the last (up to ``backoff_cap``). Gentler than
# doubling: with a third of Slack's answers failing, a message after an uncertain attempt needs two
# calls to go right (the look-up and the post), so runs of five or six failed attempts are not
# rare, and doubling made those wait a minute; 1.5 still reaches the cap within ~15 attempts in an
# outage.
BACKOFF_FACTOR = 1.5


@dataclass
class DeliveryReport:
    """What one sweep of the outbox did."""

    sent: int = 0
    failed: int = 0
    recovered: int = 0  # found already delivered after an uncertain attempt
    dead: int = 0
    errors: Counter[str] = field(default_factory=Counter)


# Messages claimed in one transaction, and recorded as sent in one (each is sent on its own).
CLAIM_BATCH = 20
# Messages whose sending may be recorded later, with others: after a crash an uncertain post is
# found in Slack by its metadata, and an update is simply made again.
_FOUND_OR_REPEATABLE = frozenset({"chat.postMessage", "chat.update"})


@dataclass(frozen=True)
class _Sent:
    """A message Slack accepted, to be recorded as sent."""

    msg_id: int
    channel: str | None
    ts: str | None
    at: datetime


@dataclass(frozen=True)
class _Claimed:
    """A message this sender has claimed: what to send, and what was known before."""

    snapshot: Snapshot
    uncertain: bool
    parent_dead: bool


class Deliverer:
    """Sends what the outbox holds, claiming each message so only one process sends it."""

    def __init__(
        self,
        client: WebClient,
        session_factory: sessionmaker[Session],
        *,
        claim_seconds: float | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        backoff_factor: float = BACKOFF_FACTOR,
        recheck_seconds: float = RECHECK_SECONDS,
        clock: Any = utcnow,
        read_session_factory: sessionmaker[Session] | None = None,
    ) -> None:
        # Never a client that retries on its own: a blind retry of chat.postMessage after a
        # dropped connection could post twice; the outbox looks for the message first.
        client = without_retries(client)
        self.client = client
        self.slack = SlackCalls(client)
        self.session_factory = session_factory
        # Looking for due messages is a read: on SQLite it must not take the write lock.
        self.read_session_factory = read_session_factory or session_factory
        # A claim outlives one Slack call (it is renewed before each), so a crashed process's
        # message is taken over within seconds, never while a live sender's call may still land.
        timeout = float(getattr(client, "timeout", 10) or 10)
        self._call_timeout = timeout
        self.claim_seconds = claim_seconds if claim_seconds is not None else 2 * timeout + 5
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.backoff_factor = backoff_factor
        self.recheck_seconds = recheck_seconds
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ background
    def start(self, poll_seconds: float = 2.0) -> None:
        """Deliver in a background thread: at once when kicked, when a retry falls due, and at
        least every ``poll_seconds``."""
        if self._thread is not None:
            return

        def run() -> None:
            while not self._stop.is_set():
                self._wake.wait(self._seconds_to_next_due(poll_seconds))
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    self.deliver_due()
                except Exception:  # keep delivering whatever one sweep hit
                    logger.exception("Outbox sweep failed")

        self._thread = threading.Thread(target=run, name="kmbot-delivery", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        """Ask the background thread to deliver now."""
        self._wake.set()

    def _seconds_to_next_due(self, poll_seconds: float) -> float:
        """How long until the next retry falls due (at most ``poll_seconds``), so a retry waits
        what it was told (a Retry-After) rather than until the next poll."""
        try:
            now = self.clock()
            with self.read_session_factory() as session:
                due: datetime | None = session.scalar(
                    select(func.min(OutboxMessage.next_attempt_at)).where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.next_attempt_at > now,
                    )
                )
        except Exception:  # the sweep will say what is wrong; just poll meanwhile
            logger.debug("Could not read the next retry time", exc_info=True)
            return poll_seconds
        if due is None:
            return poll_seconds
        return min(poll_seconds, max((due - now).total_seconds(), 0.0) + 0.01)

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None

    # ------------------------------------------------------------ sweeping
    def deliver_due(self, limit: int = 200) -> DeliveryReport:
        """Send every message that is due (parents before their replies); returns what happened."""
        report = DeliveryReport()
        progressed = True
        rounds = 0
        while progressed and rounds < 20:
            rounds += 1
            progressed = False
            due = self._due_ids(limit)
            for start in range(0, len(due), CLAIM_BATCH):
                chunk = due[start : start + CLAIM_BATCH]
                claimed = self._claim(chunk)
                claimed_at = time.monotonic()
                sent: list[_Sent] = []
                try:
                    for msg_id in chunk:
                        mine = claimed.get(msg_id)
                        if mine is None:
                            continue
                        # Slow sends earlier in the batch: hold this claim for its own call.
                        held = time.monotonic() - claimed_at
                        if held > self.claim_seconds / 3 and not self._renew_claim(msg_id):
                            continue
                        if self._deliver_one(msg_id, mine, report, sent):
                            progressed = True
                finally:
                    # Recorded together: until then each is claimed and marked uncertain, so
                    # after a crash it is looked for in Slack, never sent again.
                    self._finish_sent(sent)
        return report

    def _due_ids(self, limit: int) -> list[int]:
        now = self.clock()
        parent = aliased(OutboxMessage)
        with self.read_session_factory() as session:
            stmt = (
                select(OutboxMessage.id)
                .outerjoin(parent, OutboxMessage.parent_id == parent.id)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                    or_(OutboxMessage.parent_id.is_(None), parent.status != OutboxStatus.PENDING),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list(session.scalars(stmt))

    def _claim(self, msg_ids: list[int]) -> dict[int, _Claimed]:
        """Claim due messages and read them, in one short transaction; those another sender
        has are left out. Until we hear back from Slack an attempt may have landed, so each row
        is marked uncertain in the same transaction: a crash from here on means look before
        resending."""
        now = self.clock()
        with self.session_factory.begin() as session:
            taken = set(
                session.scalars(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(msg_ids),
                        OutboxMessage.status == OutboxStatus.PENDING,
                        or_(
                            OutboxMessage.claimed_until.is_(None),
                            OutboxMessage.claimed_until < now,
                        ),
                    )
                    .values(
                        claimed_until=now + timedelta(seconds=self.claim_seconds),
                        attempts=OutboxMessage.attempts + 1,
                    )
                    .returning(OutboxMessage.id)
                    .execution_options(synchronize_session=False)
                )
            )
            if not taken:
                return {}
            messages = list(
                session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(taken)))
            )
            parent_ids = {m.parent_id for m in messages if m.parent_id}
            parents = (
                {
                    p.id: p
                    for p in session.scalars(
                        select(OutboxMessage).where(OutboxMessage.id.in_(parent_ids))
                    )
                }
                if parent_ids
                else {}
            )
            claimed: dict[int, _Claimed] = {}
            for msg in messages:
                parent = parents.get(msg.parent_id) if msg.parent_id else None
                claimed[msg.id] = _Claimed(
                    _snapshot(msg, parent),
                    msg.uncertain,
                    parent is not None and parent.status == OutboxStatus.DEAD,
                )
            sure = [m.id for m in messages if not m.uncertain]
            if sure:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(sure))
                    .values(uncertain=True)
                    .execution_options(synchronize_session=False)
                )
        return claimed

    def _renew_claim(self, msg_id: int) -> bool:
        """Hold the claim for one more Slack call; False if it lapsed and someone else has it."""
        now = self.clock()
        with self.session_factory.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == msg_id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.claimed_until.is_not(None),
                    OutboxMessage.claimed_until >= now,
                )
                .values(claimed_until=now + timedelta(seconds=self.claim_seconds))
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def _deliver_one(
        self,
        msg_id: int,
        claimed: _Claimed,
        report: DeliveryReport,
        sent: list[_Sent] | None = None,
    ) -> bool:
        snapshot, uncertain = claimed.snapshot, claimed.uncertain
        if claimed.parent_dead:
            self._finish(msg_id, status=OutboxStatus.DEAD, error="parent message was never sent")
            report.dead += 1
            return True
        try:
            channel = self.slack.resolve_channel(snapshot.channel)
            if uncertain and snapshot.method == "chat.postMessage":
                self._renew_claim(msg_id)
                found = self.slack.find_delivered(snapshot, channel)
                if found is not None:
                    self._finish(msg_id, status=OutboxStatus.SENT, channel=channel, ts=found)
                    report.recovered += 1
                    return True
                if not self._renew_claim(msg_id):
                    # Our claim lapsed (a very slow look-up) and another sender took it over.
                    return False
            channel, ts = self.slack.send(snapshot, channel)
        except SlackApiError as exc:
            # A refusal proves only that this call did nothing: an earlier attempt may still have
            # landed, so a message that was uncertain stays uncertain (looked for before resending).
            self._failed(msg_id, snapshot, exc, report, uncertain_before=uncertain)
            return False
        except Exception as exc:  # timeouts, dropped connections: the outcome is unknown
            # A connection Slack reset or closed means the call is over: look for the message
            # soon. A timeout (no answer at all) may still land: wait the client's whole timeout.
            settle = self.recheck_seconds if call_finished(exc) else self._call_timeout
            self._retry(
                msg_id,
                snapshot,
                f"{exc.__class__.__name__}: {exc}",
                uncertain=True,
                settle=settle,
            )
            report.failed += 1
            report.errors[exc.__class__.__name__] += 1
            return False
        if sent is not None and snapshot.method in _FOUND_OR_REPEATABLE:
            sent.append(_Sent(msg_id, channel, ts, self.clock()))
        else:
            # An ephemeral reply cannot be looked for: record it at once, so that a crash
            # leaves the shortest window in which it could be sent again.
            self._finish(msg_id, status=OutboxStatus.SENT, channel=channel, ts=ts)
        report.sent += 1
        return True

    # ------------------------------------------------------------ outcomes
    def _failed(
        self,
        msg_id: int,
        snap: Snapshot,
        exc: SlackApiError,
        report: DeliveryReport,
        *,
        uncertain_before: bool = False,
    ) -> None:
        status = getattr(exc.response, "status_code", 200)
        error = exc.response.get("error", "") if exc.response is not None else ""
        report.failed += 1
        report.errors[error or str(status)] += 1
        if status == 429:
            # Slack refused this call outright: it posted nothing. Try again after exactly the
            # wait it asked for (an earlier uncertain attempt was waited out before this one).
            delay = retry_after(exc.response.headers)
            self._retry(msg_id, snap, "rate limited", uncertain=uncertain_before, delay=delay)
            return
        if status >= 500:
            # The call has finished, but it may have posted: look for the message after a short
            # pause (not the whole client timeout) before sending it again.
            self._retry(msg_id, snap, f"HTTP {status}", uncertain=True, settle=self.recheck_seconds)
            return
        if error == "not_in_channel" and snap.channel:
            try:
                self.slack.join(snap.channel)
            except (SlackApiError, OSError):
                logger.warning("Could not join %s", snap.channel)
            self._retry(msg_id, snap, error, uncertain=uncertain_before, delay=0.0)
            return
        if error in _PERMANENT and snap.attempts >= MAX_ATTEMPTS:
            logger.error("Giving up on outbox message %s (%s): %s", msg_id, snap.kind, error)
            self._finish(msg_id, status=OutboxStatus.DEAD, error=error)
            report.dead += 1
            return
        logger.warning("Slack refused outbox message %s (%s): %s", msg_id, snap.kind, error)
        self._retry(
            msg_id,
            snap,
            error or f"HTTP {status}",
            uncertain=uncertain_before,
            delay=60.0 if error in _PERMANENT else None,
        )

    def _retry(
        self,
        msg_id: int,
        snap: Snapshot,
        error: str,
        *,
        uncertain: bool,
        delay: float | None = None,
        settle: float = 0.0,
    ) -> None:
        """Try again after ``delay`` (default: backoff), and not before ``settle``: the time the
        failed call needs to show in Slack's history, so the look-up before resending is sure."""
        if delay is None:
            growth = self.backoff_factor ** max(snap.attempts - 1, 0)
            delay = min(self.backoff_cap, self.backoff_base * growth)
            delay *= random.uniform(0.8, 1.2)
        delay = max(delay, settle)
        with self.session_factory.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == msg_id)
                .values(
                    uncertain=uncertain,
                    last_error=error[:500],
                    claimed_until=None,
                    next_attempt_at=self.clock() + timedelta(seconds=delay),
                )
            )

    def _finish_sent(self, sent: list[_Sent]) -> None:
        """Record messages Slack accepted, in one transaction."""
        if not sent:
            return
        with self.session_factory.begin() as session:
            for done in sent:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == done.msg_id)
                    .values(
                        status=OutboxStatus.SENT,
                        claimed_until=None,
                        uncertain=False,
                        sent_channel=done.channel,
                        sent_ts=done.ts,
                        sent_at=done.at,
                    )
                    .execution_options(synchronize_session=False)
                )
                _record_where(session, done.msg_id, done.channel, done.ts)

    def _finish(
        self,
        msg_id: int,
        *,
        status: OutboxStatus,
        channel: str | None = None,
        ts: str | None = None,
        error: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "claimed_until": None, "uncertain": False}
        if error:
            values["last_error"] = error
        if status == OutboxStatus.SENT:
            values.update(sent_channel=channel, sent_ts=ts, sent_at=self.clock())
        with self.session_factory.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == msg_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if status == OutboxStatus.SENT:
                _record_where(session, msg_id, channel, ts)


def _record_where(session: Session, msg_id: int, channel: str | None, ts: str | None) -> None:
    """Remember where a card or introduction lives, so threads and updates can find it (two
    plain updates: a card's post, or an introduction, named by the outbox row)."""
    posted = (OutboxMessage.id == msg_id) & (OutboxMessage.method == "chat.postMessage")
    card_of = (
        select(OutboxMessage.post_id).where(posted, OutboxMessage.kind == "card").scalar_subquery()
    )
    session.execute(
        update(Post)
        .where(Post.id == card_of)
        .values(card_channel=channel, card_ts=ts)
        .execution_options(synchronize_session=False)
    )
    introduction_of = (
        select(OutboxMessage.introduction_id)
        .where(posted, OutboxMessage.kind == "introduction")
        .scalar_subquery()
    )
    session.execute(
        update(Introduction)
        .where(Introduction.id == introduction_of)
        .values(message_channel=channel, message_ts=ts)
        .execution_options(synchronize_session=False)
    )


def _snapshot(msg: OutboxMessage, parent: OutboxMessage | None) -> Snapshot:
    """What the message asks of Slack, with its thread (and channel) from a sent parent."""
    channel, thread_ts = msg.channel, msg.thread_ts
    if parent is not None and parent.status == OutboxStatus.SENT:
        channel = channel or parent.sent_channel
        thread_ts = thread_ts or parent.sent_ts
        if msg.method == "chat.update":
            channel = parent.sent_channel
    return Snapshot(
        msg.id,
        msg.kind,
        msg.method,
        channel,
        thread_ts,
        dict(msg.payload),
        msg.attempts,
        msg.created_at,
    )
