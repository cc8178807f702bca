"""The marketplace's words: kinds and states of posts, roles, knowledge areas and purposes."""

from __future__ import annotations

import enum

KNOWLEDGE_AREAS = {
    "IM": "Information Management",
    "CF": "Customer Focus",
    "CO": "Communications",
    "OL": "Organisational Learning",
}
PURPOSES = {
    "bau": "Business as usual",
    "efficiency": "Efficiency and effectiveness",
    "transformation": "Business transformation",
}


class PostKind(enum.StrEnum):
    """A want (knowledge a council needs) or an offer (knowledge it can share)."""

    WANT = "want"
    OFFER = "offer"


class PostStatus(enum.StrEnum):
    """Where a post is in its life."""

    OPEN = "open"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    REMOVED = "removed"


class Role(enum.StrEnum):
    """A member's role in the network."""

    SPONSOR = "sponsor"
    CHANGE_AGENT = "change_agent"
    PRACTITIONER = "practitioner"
    FACILITATOR = "facilitator"


class IntroductionStatus(enum.StrEnum):
    """What the two people introduced said of it."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class OutboxStatus(enum.StrEnum):
    """Whether a message owed to Slack has been delivered."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
