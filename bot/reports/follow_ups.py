"""Follow-up rates: what became of the introductions nobody answered at first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.slack.followups import FollowUpRates
from storage.models import Introduction, IntroductionStatus


def follow_up_rates(session: Session, *, since: datetime | None = None) -> FollowUpRates:
    """Introductions followed up, and since then answered, still talking or unanswered.

    With ``since``, only the introductions followed up (for the first time or again) since then.
    """
    where = [Introduction.follow_ups > 0]
    if since is not None:
        where.append(Introduction.followed_up_at >= since)
    counts: dict[str, int] = {}
    for status, talking, silent, count in session.execute(
        select(
            Introduction.status,
            Introduction.still_talking_at.is_not(None),
            Introduction.no_response_at.is_not(None),
            func.count(Introduction.id),
        )
        .where(*where)
        .group_by(
            Introduction.status,
            Introduction.still_talking_at.is_not(None),
            Introduction.no_response_at.is_not(None),
        )
    ):
        state = IntroductionStatus(status)
        if state == IntroductionStatus.CONFIRMED:
            key = "useful"
        elif state == IntroductionStatus.DECLINED:
            key = "not_a_fit"
        elif silent:
            key = "no_response"
        elif talking:
            key = "still_talking"
        else:
            key = "waiting"
        counts[key] = counts.get(key, 0) + int(count)
    return FollowUpRates(
        followed_up=sum(counts.values()),
        useful=counts.get("useful", 0),
        not_a_fit=counts.get("not_a_fit", 0),
        still_talking=counts.get("still_talking", 0),
        no_response=counts.get("no_response", 0),
    )
