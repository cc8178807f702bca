"""Personal data: /km my-data, /km forget-me and the retention period the worker enforces."""

from __future__ import annotations

import json
from datetime import timedelta

from slackkit import SlackDriver
from sqlalchemy import func, select

from bot.services.privacy import ERASED_TEXT
from bot.services.retention import PURGED_TEXT, purge_closed_posts
from reliability.ledger import snapshot
from reliability.reliability_figures import engine_of, record
from storage.models import Introduction, Member, Outcome, Post, PostStatus, utcnow

MARKET = "C0MARKET"


def _market(slack: SlackDriver) -> tuple[str, str]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    slack.slash(devon, "/offer", "Our information asset register (IAR) template and guidance")
    slack.settle()
    slack.slash(lewisham, "/want", "Help setting up an IAR - information asset register")
    slack.settle()
    slack.slash(devon, "/want", "Records retention schedule for social care")
    slack.settle()
    return devon, lewisham


def _everything_in_slack(slack: SlackDriver) -> str:
    """Every message in every conversation as Slack now shows it."""
    out = []
    for channel in slack.fake.workspace.channels():
        for m in slack.fake.workspace.all_messages(channel.id):
            if not m.deleted:
                out.append(json.dumps([m.text, m.blocks]))
    return "\n".join(out)


def test_my_data_sends_everything_stored_about_the_member(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon, _ = _market(slack)
    assert slack.slash(devon, "/km", "my-data").status == 200
    slack.settle()
    files = slack.fake.files()
    assert len(files) == 1
    data = json.loads(files[0].content)
    assert data["member"]["email"] == "jo.bloggs@devon.gov.uk"
    assert data["member"]["council"] == "Devon County Council"
    assert sorted(p["text"] for p in data["posts"]) == [
        "Our information asset register (IAR) template and guidance",
        "Records retention schedule for social care",
    ]
    assert data["introductions"][0]["other_council"] == "London Borough of Lewisham"
    dm = slack.fake.workspace.dm_channel(devon)
    assert dm in files[0].channels
    assert "direct message" in slack.fake.ephemerals(devon)[-1].text
    # Someone who never joined is told so, and nothing is sent.
    slack.user("U0NEW", "New Person", "new.person@example.com")
    slack.slash("U0NEW", "/km", "my-data")
    slack.settle()
    assert "holds nothing" in slack.fake.ephemerals("U0NEW")[-1].text
    assert len(slack.fake.files()) == 1
    record(
        f"my-data ({engine_of(slack.settings.database_url)})",
        posts_exported=len(data["posts"]),
        introductions_exported=len(data["introductions"]),
    )


def test_forget_me_asks_first_then_erases_and_keeps_anonymous_counts(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon, lewisham = _market(slack)
    before = snapshot(slack)
    assert slack.slash(devon, "/km", "forget-me").status == 200
    slack.settle()
    assert "/km forget-me confirm" in slack.fake.ephemerals(devon)[-1].text
    assert snapshot(slack) == before, "asking changed something"
    assert "jo.bloggs@devon.gov.uk" in _everything_in_slack(slack)

    assert slack.slash(devon, "/km", "forget-me confirm").status == 200
    slack.settle()
    assert "Done" in slack.fake.ephemerals(devon)[-1].text
    with slack.services.session_factory() as session:
        member = session.scalar(select(Member).where(Member.erased_at.is_not(None)))
        assert member is not None
        assert (member.name, member.email, member.slack_user_id) == (None, None, None)
        posts = list(session.scalars(select(Post).order_by(Post.id)))
        assert len(posts) == 3, "anonymous counts stay"
        erased = [p for p in posts if p.text == ERASED_TEXT]
        assert len(erased) == 2 and all(p.status == PostStatus.WITHDRAWN for p in erased)
        assert all(p.member_id is None for p in erased)
        assert session.scalar(select(func.count()).select_from(Introduction)) == 1
        other = session.scalar(select(Member).where(Member.slack_user_id == lewisham))
        assert other is not None and other.email == "sam.patel@lewisham.gov.uk"
    shown = _everything_in_slack(slack)
    # Slack no longer shows their name, email, mention or post texts on cards and introductions.
    for gone in (
        "jo.bloggs@devon.gov.uk",
        "Jo Bloggs",
        "<@U0DEVON>",
        "IAR) template",
        "social care",
    ):
        assert gone not in shown, gone
    assert "sam.patel@lewisham.gov.uk" in shown
    # Asking again: there is nothing left.
    slack.slash(devon, "/km", "forget-me confirm")
    slack.settle()
    assert "nothing" in slack.fake.ephemerals(devon)[-1].text
    record(
        f"forget-me ({engine_of(slack.settings.database_url)})",
        posts_erased=len(erased),
        posts_kept_as_counts=len(posts),
        personal_details_left_in_slack=0,
    )


def test_the_worker_purges_closed_posts_after_the_retention_period(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon, lewisham = _market(slack)
    slack.slash(lewisham, "/km", "close 2 fulfilled")
    slack.settle()
    with slack.services.session_factory.begin() as session:
        session.add(Outcome(post_id=2, days_saved=180, note="Saved us six months, thanks Jo"))
    settings = slack.settings
    now = utcnow()
    assert purge_closed_posts(slack.services.session_factory, settings=settings, now=now) == 0
    later = now + timedelta(days=settings.retention_days + 1)
    assert purge_closed_posts(slack.services.session_factory, settings=settings, now=later) == 1
    assert purge_closed_posts(slack.services.session_factory, settings=settings, now=later) == 0
    with slack.services.session_factory() as session:
        post = session.get(Post, 2)
        assert post is not None
        assert (post.text, post.member_id, post.status) == (PURGED_TEXT, None, PostStatus.FULFILLED)
        outcome = session.scalar(select(Outcome))
        assert outcome is not None and outcome.days_saved == 180 and outcome.note is None
        assert [p.text for p in session.scalars(select(Post).where(Post.id != 2))] == [
            "Our information asset register (IAR) template and guidance",
            "Records retention schedule for social care",
        ], "open posts are untouched"
    record(
        f"retention purge ({engine_of(settings.database_url)})",
        closed_posts_purged=1,
        open_posts_touched=0,
        days_saved_kept=180,
    )
