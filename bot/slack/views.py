"""What Slack messages show: plain view objects the services fill and the builders read.

Builders never see database rows; services turn rows into these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.kernel.text import escape


@dataclass(frozen=True)
class PostView:
    """What a message needs to show a post."""

    id: int
    kind: str  # "want" | "offer"
    text: str
    council: str
    author_name: str | None = None
    author_slack_id: str | None = None
    author_email: str | None = None
    area: str | None = None
    purpose: str | None = None
    link: str | None = None
    status: str = "open"
    expires_at: datetime | None = None

    @property
    def label(self) -> str:
        """ "Want #12" or "Offer #7"."""
        return f"{self.kind.capitalize()} #{self.id}"

    @property
    def who(self) -> str:
        """A mention where we know the Slack user, otherwise the name, escaped."""
        if self.author_slack_id:
            return f"<@{self.author_slack_id}>"
        return escape(self.author_name or "a member")


@dataclass(frozen=True)
class IntroductionView:
    """What a message needs to show an introduction."""

    id: int
    want: PostView
    offer: PostView
    score: int
    reasons: tuple[str, ...]
    status: str = "proposed"
    manual: bool = False
    answered_by: str | None = None  # Slack user id


@dataclass(frozen=True)
class PublishedView:
    """A post just published: the introductions it made and the candidates behind them."""

    post: PostView
    introduced: tuple[IntroductionView, ...]
    candidates: tuple[tuple[PostView, int], ...]
    held: tuple[IntroductionView, ...] = ()  # matched, introduced when someone is back


@dataclass(frozen=True)
class MemberOverview:
    """A member's posts and introductions, ready for App Home or ``/km mine``."""

    name: str | None
    council: str | None
    posts: tuple[PostView, ...]
    introductions: tuple[IntroductionView, ...]
    post_ids: frozenset[int]
    away_until: datetime | None = None  # set while the member is away


@dataclass(frozen=True)
class MemberView:
    """A member as a line of a list (facilitators)."""

    slack_user_id: str | None
    name: str | None
    council: str | None


@dataclass(frozen=True)
class CommunityView:
    """A community of practice and its weekly slot."""

    id: int
    channel_id: str
    name: str
    area: str
    weekday: int
    time_of_day: str
    timezone: str
    nation: str
    paused: bool


@dataclass(frozen=True)
class PromptView:
    """A nudge prompt in the bank."""

    id: int
    area: str | None
    text: str
    active: bool = True


@dataclass(frozen=True)
class AuditView:
    """One entry of the audit log, its change already described in words."""

    at: datetime
    actor: str
    action: str
    target: str | None
    change: str
