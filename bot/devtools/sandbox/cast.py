"""Who and what the sandbox workspace holds: sample members, channels and communities."""

from __future__ import annotations

from dataclasses import dataclass

TEAM_ID = "T0SANDBOX"
TEAM_NAME = "KM Change Network (sandbox)"
MARKET_ID = "C0MARKET"


@dataclass(frozen=True)
class SampleMember:
    """A fake Slack user the page can act as."""

    id: str
    name: str
    email: str
    council: str  # shown in the picker; the bot works it out from the email domain itself
    facilitator: bool = False

    @property
    def handle(self) -> str:
        """The Slack display name, e.g. ``sarah.pengelly``."""
        return self.name.lower().replace(" ", ".")


# Their emails are those of workshop participants in the example workshop, so joining Slack
# claims their workshop posts (as a real participant's first /want would).
MEMBERS: tuple[SampleMember, ...] = (
    SampleMember(
        "U0SARAH", "Sarah Pengelly", "sarah.pengelly@devon.gov.uk", "Devon County Council"
    ),
    SampleMember(
        "U0DELROY", "Delroy Okafor", "delroy.okafor@lewisham.gov.uk", "London Borough of Lewisham"
    ),
    SampleMember(
        "U0RUKHSANA",
        "Rukhsana Begum-Hale",
        "rukhsana.begum-hale@towerhamlets.gov.uk",
        "London Borough of Tower Hamlets",
    ),
    SampleMember(
        "U0HELEN", "Helen Marchbank", "helen.marchbank@wiltshire.gov.uk", "Wiltshire Council"
    ),
    SampleMember(
        "U0ALEX",
        "Alex Morgan",
        "alex.morgan@kmnetwork.example",
        "Central team (facilitator)",
        facilitator=True,
    ),
)


@dataclass(frozen=True)
class SampleCommunity:
    """A community-of-practice channel with its weekly nudge slot."""

    channel_id: str
    name: str
    area: str
    weekday: int  # Monday is 0
    time_of_day: str


COMMUNITIES: tuple[SampleCommunity, ...] = (
    SampleCommunity("C0COPIM", "cop-information-management", "IM", 1, "10:00"),
    SampleCommunity("C0COPOL", "cop-organisational-learning", "OL", 3, "14:00"),
)

ALLOWED_COMMANDS = ("/want", "/offer", "/km", "/km-admin")
