"""Checking what reached the fake Slack against what the outbox owed: lost and duplicated."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.devtools.fakeslack import FakeSlack, Message
from bot.outbox.delivery import METADATA_EVENT
from storage.models import OutboxMessage, OutboxStatus

# Councils whose staff email domains the reference directory knows: members join at once.
DOMAINS = [
    ("devon.gov.uk", "Devon County Council"),
    ("lewisham.gov.uk", "London Borough of Lewisham"),
    ("bolsover.gov.uk", "Bolsover District Council"),
    ("colchester.gov.uk", "Colchester Borough Council"),
    ("horsham.gov.uk", "Horsham District Council"),
    ("bromley.gov.uk", "London Borough of Bromley"),
    ("maidstone.gov.uk", "Maidstone Borough Council"),
    ("norfolk.gov.uk", "Norfolk County Council"),
    ("pendle.gov.uk", "Pendle Borough Council"),
    ("rushmoor.gov.uk", "Rushmoor Borough Council"),
    ("southampton.gov.uk", "Southampton City Council"),
    ("telford.gov.uk", "Telford & Wrekin Council"),
]

TOPICS = [
    "information asset register template and guidance",
    "records retention schedule for social care files",
    "knowledge cafe facilitation for service redesign",
    "lessons learned log after major projects",
    "customer journey mapping for council tax enquiries",
    "intranet content strategy and page ownership",
    "communities of practice terms of reference",
    "expertise directory of staff skills",
    "after action review method for incident response",
    "document management migration to SharePoint",
    "knowledge harvesting interviews with leavers",
    "FOI request handling workflow",
]


def outbox_id_of(message: Message) -> int | None:
    """The outbox id a bot message carries in its metadata, if any."""
    md = message.metadata or {}
    if md.get("event_type") != METADATA_EVENT:
        return None
    value = (md.get("event_payload") or {}).get("outbox_id")
    return int(value) if value is not None else None


def delivered(fake: FakeSlack) -> dict[int, list[Message]]:
    """Every message in every conversation of the fake, grouped by outbox id."""
    found: dict[int, list[Message]] = defaultdict(list)
    for channel in fake.workspace.channels():
        for message in fake.workspace.all_messages(channel.id):
            oid = outbox_id_of(message)
            if oid is not None and not message.deleted:
                found[oid].append(message)
    return found


@dataclass
class Ledger:
    """What the outbox owed and what Slack holds."""

    owed: int = 0
    posted: int = 0
    updates: int = 0
    lost: list[int] = field(default_factory=list)
    duplicated: list[int] = field(default_factory=list)
    not_sent: list[int] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)


def reconcile(session_factory: sessionmaker[Session], fake: FakeSlack) -> Ledger:
    """Compare every outbox row with the fake Slack: each post exactly once, nothing left owed."""
    by_id = delivered(fake)
    ledger = Ledger()
    with session_factory() as session:
        rows = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    for row in rows:
        ledger.owed += 1
        ledger.kinds[row.kind] = ledger.kinds.get(row.kind, 0) + 1
        if row.status != OutboxStatus.SENT:
            ledger.not_sent.append(row.id)
        if row.method == "chat.postMessage":
            copies = by_id.get(row.id, [])
            if not copies:
                ledger.lost.append(row.id)
            elif len(copies) > 1:
                ledger.duplicated.append(row.id)
            else:
                ledger.posted += 1
        else:
            ledger.updates += 1
    # A message carrying an outbox id we never owed would be a stray duplicate too.
    ledger.duplicated += [oid for oid in by_id if oid not in {r.id for r in rows}]
    return ledger


IGNORED_TABLES = {"outbox", "intake", "alembic_version"}


def snapshot(slack: Any) -> dict[str, list[tuple[str, ...]]]:
    """Every stored row except the outbox (replies are allowed) and the replay record."""
    from storage.models import Base

    out: dict[str, list[tuple[str, ...]]] = {}
    with slack.services.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            rows = conn.execute(table.select()).all()
            out[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return out


SIGNING_SECRET = "test-signing-secret"  # as tests/conftest.py signs with


def settings_for(database_url: str, fake: FakeSlack, **changes: Any) -> Any:
    """Test settings like tests/conftest.py's, with changes."""
    from bot.kernel.settings import Settings

    return Settings(
        database_url=database_url,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.url,
        marketplace_channel="C0MARKET",
    ).with_(**changes)
