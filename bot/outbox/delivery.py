"""Delivering the outbox to Slack: retried with backoff, never sent twice.

``Deliverer`` claims due messages, sends them and records the outcome; the Slack calls
themselves are in ``bot.outbox.slack_calls``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.outbox.slack_calls import METADATA_EVENT, SlackCalls, Snapshot, make_client, retry_after
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


@dataclass
class DeliveryReport:
    """What one sweep of the outbox did."""

    sent: int = 0
    failed: int = 0
    recovered: int = 0  # found already delivered after an uncertain attempt
    dead: int = 0
    errors: Counter[str] = field(default_factory=Counter)


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
        clock: Any = utcnow,
    ) -> None:
        self.client = client
        self.slack = SlackCalls(client)
        self.session_factory = session_factory
        # A claim outlives one Slack call (it is renewed before each), so a crashed process's
        # message is taken over within seconds, never while a live sender's call may still land.
        timeout = float(getattr(client, "timeout", 10) or 10)
        self._call_timeout = timeout
        self.claim_seconds = claim_seconds if claim_seconds is not None else 2 * timeout + 5
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ background
    def start(self, poll_seconds: float = 2.0) -> None:
        """Deliver in a background thread: at once when kicked, and every ``poll_seconds``."""
        if self._thread is not None:
            return

        def run() -> None:
            while not self._stop.is_set():
                self._wake.wait(poll_seconds)
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
            for msg_id in self._due_ids(limit):
                if self._claim(msg_id) and self._deliver_one(msg_id, report):
                    progressed = True
        return report

    def _due_ids(self, limit: int) -> list[int]:
        now = self.clock()
        parent = aliased(OutboxMessage)
        with self.session_factory() as session:
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

    def _claim(self, msg_id: int) -> bool:
        now = self.clock()
        with self.session_factory.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == msg_id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                    or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                )
                .values(
                    claimed_until=now + timedelta(seconds=self.claim_seconds),
                    attempts=OutboxMessage.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

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

    def _deliver_one(self, msg_id: int, report: DeliveryReport) -> bool:
        with self.session_factory() as session:
            msg = session.get(OutboxMessage, msg_id)
            assert msg is not None
            parent = session.get(OutboxMessage, msg.parent_id) if msg.parent_id else None
            uncertain = msg.uncertain
            # Until we hear back, assume the attempt may have landed: a crash now must check first.
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == msg_id).values(uncertain=True)
            )
            session.commit()
            snapshot = _snapshot(msg, parent)
        if parent is not None and parent.status == OutboxStatus.DEAD:
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
                # Our claim lapsed (a very slow look-up) and another sender took the message over.
                return False
            channel, ts = self.slack.send(snapshot, channel)
        except SlackApiError as exc:
            # A refusal proves only that this call did nothing: an earlier attempt may still have
            # landed, so a message that was uncertain stays uncertain (looked for before resending).
            self._failed(msg_id, snapshot, exc, report, uncertain_before=uncertain)
            return False
        except Exception as exc:  # timeouts, dropped connections: the outcome is unknown
            self._retry(msg_id, snapshot, f"{exc.__class__.__name__}: {exc}", uncertain=True)
            report.failed += 1
            report.errors[exc.__class__.__name__] += 1
            return False
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
            delay = retry_after(exc.response.headers)
            # Slack refused this call outright: it posted nothing.
            self._retry(msg_id, snap, "rate limited", uncertain=uncertain_before, delay=delay)
            return
        if status >= 500:
            self._retry(msg_id, snap, f"HTTP {status}", uncertain=True)
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
    ) -> None:
        if delay is None:
            delay = min(self.backoff_cap, self.backoff_base * (2 ** max(snap.attempts - 1, 0)))
            delay *= random.uniform(0.8, 1.2)
        if uncertain:
            # A call we gave up on may still be landing in Slack: look for it only once it must
            # have finished, or the look-up could miss it and we would post it twice.
            delay = max(delay, self._call_timeout)
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

    def _finish(
        self,
        msg_id: int,
        *,
        status: OutboxStatus,
        channel: str | None = None,
        ts: str | None = None,
        error: str | None = None,
    ) -> None:
        with self.session_factory.begin() as session:
            msg = session.get(OutboxMessage, msg_id)
            assert msg is not None
            msg.status = status
            msg.claimed_until = None
            msg.uncertain = False
            if error:
                msg.last_error = error
            if status == OutboxStatus.SENT:
                msg.sent_channel, msg.sent_ts, msg.sent_at = channel, ts, self.clock()
                _record_where(session, msg)


def _record_where(session: Session, msg: OutboxMessage) -> None:
    """Remember where a card or introduction lives, so threads and updates can find it."""
    if msg.method != "chat.postMessage":
        return
    if msg.kind == "card" and msg.post_id is not None:
        post = session.get(Post, msg.post_id)
        if post is not None:
            post.card_channel, post.card_ts = msg.sent_channel, msg.sent_ts
    if msg.kind == "introduction" and msg.introduction_id is not None:
        intro = session.get(Introduction, msg.introduction_id)
        if intro is not None:
            intro.message_channel, intro.message_ts = msg.sent_channel, msg.sent_ts


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
