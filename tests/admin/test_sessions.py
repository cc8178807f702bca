"""Scenario: a live marketplace session through the real Bolt app against the fake Slack."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from admin_kit import FACILITATOR, admin, csv_rows, facilitated_slack
from slackkit import SlackDriver, validate_blocks

from bot.cli.main import main
from bot.devtools.fakeslack import FakeSlack
from bot.kernel.clock import utcnow
from bot.kernel.settings import Settings
from bot.reports.export import POSTS_HEADER
from bot.services import sessions as market_sessions
from bot.slack import ids
from bot.slack import sessions as session_messages
from bot.slack.sessions import SessionPostLine, SessionView
from bot.worker import Worker
from storage.models import MarketSession, OutboxMessage, Post

MARKET = "C0MARKET"
WORKSHOP = "C0WORKSHOP"


@pytest.fixture
def session_slack(
    database_url: str, settings: Settings, fake_slack: FakeSlack
) -> Iterator[SlackDriver]:
    """The app with one facilitator, on both database engines."""
    fake_slack.add_channel(WORKSHOP, "km-workshop")
    with facilitated_slack(settings, fake_slack, database_url=database_url) as driver:
        yield driver


def board_text(slack: SlackDriver, channel: str = MARKET) -> tuple[str, str]:
    """The board message's ts and its text, as the channel shows it now."""
    boards = [
        m
        for m in slack.fake.messages(channel)
        if "marketplace session" in " ".join(_texts(m.blocks)).lower()
        and "outputs" not in m.text.lower()
    ]
    assert len(boards) == 1, "exactly one board message, updated in place"
    validate_blocks(boards[0].blocks)
    return boards[0].ts, " ".join(_texts(boards[0].blocks))


def _texts(blocks: list[dict] | None) -> list[str]:  # type: ignore[type-arg]
    found = []
    for b in blocks or []:
        if b.get("text"):
            found.append(b["text"]["text"])
        for e in b.get("elements") or []:
            if isinstance(e, dict) and e.get("text"):
                found.append(e["text"] if isinstance(e["text"], str) else e["text"]["text"])
    return found


def people(slack: SlackDriver) -> tuple[str, str, str]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    notts = slack.user("U0NOTTS", "Ali Khan", "ali.khan@nottinghamshire.gov.uk")
    return devon, lewisham, notts


def test_a_session_runs_with_a_live_board_and_ends_with_outputs_and_dms(
    session_slack: SlackDriver,
) -> None:
    slack = session_slack
    devon, lewisham, notts = people(slack)
    reply = admin(slack, "session start 20")
    assert "Started a 20-minute marketplace session" in reply
    ts, text = board_text(slack)
    assert "Live marketplace session" in text and "0 posts so far" in text
    assert "20 minutes left" in text

    slack.slash(lewisham, "/offer", "Homelessness prevention triage script and training")
    slack.settle()
    slack.slash(notts, "/want", "Help with homelessness prevention triage at the front door")
    slack.slash(devon, "/want", "School admissions appeals process")
    slack.settle()

    same_ts, text = board_text(slack)
    assert same_ts == ts, "the board is updated in place, never reposted"
    assert slack.fake.message(MARKET, ts).edited
    assert "3 posts so far (2 wants, 1 offer)" in text
    assert "Housing: 1 want" in text and "Housing: 1 offer" in text
    assert "Education and learning: 1 want" in text
    assert "Introductions made: 1" in text
    assert "*Lewisham* can help *Nottinghamshire*" in text

    with slack.services.session_factory() as session:
        tagged = session.query(Post).filter(Post.session_id.is_not(None)).all()
        assert len(tagged) == 3
        assert {p.service_area for p in tagged} == {"Housing", "Education and learning"}

    status = admin(slack, "session")
    assert "3 posts (2 wants, 1 offer) from 3 people" in status
    assert "1 want unmatched" in status

    reply = admin(slack, "session end")
    assert "Ended the marketplace session: 3 posts, 1 introduction" in reply
    outputs = [m for m in slack.fake.messages(MARKET) if m.text == "Marketplace session outputs"]
    assert len(outputs) == 1
    validate_blocks(outputs[0].blocks)
    shown = " ".join(_texts(outputs[0].blocks))
    assert "Introductions made (1)" in shown
    assert "Wants still unmatched (1)" in shown and "School admissions appeals" in shown
    assert "Top 5 areas of demand" in shown and "Top 5 areas of supply" in shown
    _, text = board_text(slack)
    assert "ended at" in text

    # Each participant's own matches, and only theirs.
    notts_dm = " ".join(_texts(slack.fake.dms(notts)[-1].blocks))
    assert "Your matches from the marketplace session" in notts_dm
    assert "Your want" in notts_dm and "Lewisham's offer" in notts_dm
    assert "Homelessness prevention triage script" in notts_dm
    assert "School admissions" not in notts_dm
    lewisham_dm = " ".join(_texts(slack.fake.dms(lewisham)[-1].blocks))
    assert "Your offer" in lewisham_dm and "Nottinghamshire's want" in lewisham_dm
    devon_dm = " ".join(_texts(slack.fake.dms(devon)[-1].blocks))
    assert "found no match yet" in devon_dm and "Homelessness" not in devon_dm

    # A post after the session is not tagged, and the board is left alone.
    ended_board = board_text(slack)
    slack.slash(devon, "/offer", "Our school admissions appeals guide")
    slack.settle()
    assert board_text(slack) == ended_board
    with slack.services.session_factory() as session:
        last = session.query(Post).order_by(Post.id.desc()).first()
        assert last is not None and last.session_id is None
        assert last.service_area == "Education and learning"
    assert "No marketplace session is running" in admin(slack, "session")


def test_a_post_after_time_is_up_but_before_the_worker_ends_it_is_not_in_the_session(
    session_slack: SlackDriver,
) -> None:
    slack = session_slack
    devon, lewisham, _ = people(slack)
    with time_machine.travel(utcnow(), tick=False) as clock:
        admin(slack, "session start 10")
        slack.slash(lewisham, "/offer", "Homelessness prevention triage script and training")
        slack.settle()
        before = board_text(slack)
        clock.shift(timedelta(minutes=10, seconds=30))  # time is up; the worker has not run
        slack.slash(devon, "/want", "School admissions appeals process")
        slack.settle()
        assert board_text(slack) == before, "the board is left as it was"
        with slack.services.session_factory() as session:
            late = session.query(Post).order_by(Post.id.desc()).first()
            assert late is not None and late.session_id is None


def test_an_edit_during_a_session_is_classified_again_and_shown_on_the_board(
    session_slack: SlackDriver,
) -> None:
    slack = session_slack
    devon, _, _ = people(slack)
    admin(slack, "session start 20")
    slack.slash(devon, "/want", "School admissions appeals process")
    slack.settle()
    assert "Education and learning: 1 want" in board_text(slack)[1]
    card = next(m for m in slack.fake.messages(MARKET) if "School admissions" in str(m.blocks))
    slack.click(devon, ids.ACT_EDIT_POST, "1", message_ts=card.ts)
    slack.settle()
    edited = "Recycling rota for the street cleaning crews"
    typed = {ids.ACT_TEXT: {"type": "plain_text_input", "value": edited}}
    slack.submit(devon, slack.last_modal(), {ids.BLK_TEXT: typed})
    slack.settle()
    _, text = board_text(slack)
    assert "Environmental protection: 1 want" in text and "Education and learning" not in text
    with slack.services.session_factory() as session:
        post = session.get(Post, 1)
        assert post is not None and post.service_area == "Environmental protection"


def test_mistakes_get_clear_messages_and_change_nothing(session_slack: SlackDriver) -> None:
    slack = session_slack
    assert "between 1 and 240 minutes, not 0" in admin(slack, "session start 0")
    assert "between 1 and 240 minutes, not 500" in admin(slack, "session start 500")
    assert "is not a number of minutes" in admin(slack, "session start soon")
    assert "“&lt;b&gt;” is not a number of minutes" in admin(slack, "session start <b>")
    assert "can't find the channel #nowhere" in admin(slack, "session start 10 #nowhere")
    assert "can't find the channel C0NOWHERE" in admin(slack, "session start C0NOWHERE")
    assert "one channel" in admin(slack, "session start 10 #km-workshop #km-marketplace")
    assert "“15 20” is not a number of minutes" in admin(slack, "session start 15 #km-workshop 20")
    assert "No marketplace session is running" in admin(slack, "session end")
    with slack.services.session_factory() as session:
        assert session.query(MarketSession).count() == 0
    # The length as people type it, and the channel before or after it.
    assert "Started a 10-minute" in admin(slack, "session start #km-workshop 10 minutes")
    assert "already running in <#C0WORKSHOP>" in admin(slack, "session start")
    assert "I don't know `/km-admin session later`" in admin(slack, "session later")
    ts, text = board_text(slack, WORKSHOP)
    assert "10 minutes left" in text
    # Someone who is not a facilitator is refused.
    devon, _, _ = people(slack)
    assert slack.slash(devon, "/km-admin", "session start").status == 200
    slack.settle()
    assert "facilitator" in slack.fake.ephemerals(devon)[-1].text.lower() or any(
        "facilitator" in t.lower() for t in _texts(slack.fake.ephemerals(devon)[-1].blocks)
    )
    with slack.services.session_factory() as session:
        assert session.query(MarketSession).count() == 1


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [(None, 15), ("20", 20), ("20m", 20), ("20 min", 20), ("20 mins", 20), ("20 Minutes", 20)],
)
def test_a_session_length_is_read_as_people_type_it(typed: str | None, minutes: int) -> None:
    assert market_sessions.parse_minutes(typed) == minutes


def test_the_worker_ends_a_session_on_time_once(session_slack: SlackDriver) -> None:
    slack = session_slack
    _, lewisham, notts = people(slack)
    admin(slack, "session start 15")
    slack.slash(notts, "/want", "Taxi licensing policy review")
    slack.settle()
    worker = Worker(slack.services)
    assert worker.sessions().sessions_ended == 0, "not before its time"
    later = utcnow() + timedelta(minutes=16)
    with time_machine.travel(later, tick=False):
        first = Worker(slack.services, clock=lambda: later).sessions()
        second = Worker(slack.services, clock=lambda: later).sessions()
    assert (first.sessions_ended, second.sessions_ended) == (1, 0)
    slack.settle()
    outputs = [m for m in slack.fake.messages(MARKET) if m.text == "Marketplace session outputs"]
    assert len(outputs) == 1
    shown = " ".join(_texts(outputs[0].blocks))
    assert "Wants still unmatched (1)" in shown and "Taxi licensing policy review" in shown
    assert "Top 5 areas of demand" in shown and "Top 5 areas of supply" in shown
    assert len(slack.fake.dms(notts)) == 1
    assert slack.fake.dms(lewisham) == []


def test_posts_arriving_while_the_board_waits_share_one_update(session_slack: SlackDriver) -> None:
    """Posts arriving while the board waits rewrite the waiting update: no pile of updates."""
    slack = session_slack
    _, _, notts = people(slack)
    admin(slack, "session start")
    slack.slash(notts, "/want", "Flood risk management plan")
    slack.settle()
    services = slack.services
    with services.session_factory() as session:
        market = market_sessions.running_session(session)
        assert market is not None
        market_id = market.id
        first = session.query(Post).first()
        assert first is not None
        author_id = first.member_id
    from bot.services.posting import publish_post
    from storage.models import Member, PostKind

    for n in range(40):  # as the posting service does: each post stored, then the board
        with services.session_factory.begin() as session:
            author = session.get(Member, author_id)
            assert author is not None
            publish_post(
                session,
                author,
                PostKind.OFFER if n % 2 else PostKind.WANT,
                f"Bus lane enforcement camera policy number {n}",
                settings=services.settings.with_(max_open_posts=100),
                matcher=services.live_index,
            )
        market_sessions.refresh_board_after(
            services.read_session, services.session_factory, market_id, utcnow()
        )
    with services.session_factory() as session:
        updates = (
            session.query(OutboxMessage)
            .filter(OutboxMessage.kind == "session_board", OutboxMessage.method == "chat.update")
            .all()
        )
        # The first post's update was delivered; the burst's 40 share the one still waiting.
        assert sorted(u.status for u in updates) == ["pending", "sent"]
    slack.settle()
    _, text = board_text(slack)
    assert "41 posts so far" in text
    assert "Transport and highways" in text


def _session_with_one_post(slack: SlackDriver) -> None:
    _, _, notts = people(slack)
    admin(slack, "session start")
    slack.slash(notts, "/want", "Flood risk management plan")
    slack.settle()


def _owe_board_update(slack: SlackDriver, text: str, **how_far: Any) -> None:
    """A board update already owed with ``text``; ``how_far`` it got (attempts, a claim)."""
    with slack.services.session_factory.begin() as session:
        market = market_sessions.running_session(session)
        assert market is not None and market.board_outbox_id is not None
        session.add(
            OutboxMessage(
                kind="session_board",
                method="chat.update",
                parent_id=market.board_outbox_id,
                payload={"text": text, "blocks": []},
                status="pending",
                **how_far,
            )
        )


def _refresh_board(slack: SlackDriver) -> None:
    with slack.services.session_factory.begin() as session:
        market = market_sessions.running_session(session)
        assert market is not None
        now = utcnow()
        market_sessions.refresh_board(
            session, market, market_sessions.session_view(session, market, now), now
        )


def _board_updates_waiting(slack: SlackDriver) -> list[tuple[int, str]]:
    """(attempts, text) of each board update still owed, oldest first."""
    with slack.services.session_factory() as session:
        return [
            (m.attempts, m.payload["text"])
            for m in session.query(OutboxMessage)
            .filter(
                OutboxMessage.kind == "session_board",
                OutboxMessage.method == "chat.update",
                OutboxMessage.status == "pending",
            )
            .order_by(OutboxMessage.id)
        ]


NEWS = "Marketplace session: 1 post, 0 introductions"


def test_an_update_tried_before_gets_the_news_and_a_new_one_follows(
    session_slack: SlackDriver,
) -> None:
    """A board update a sender tried may yet land with older news: it is rewritten, and a new
    update (rewritten in turn while it waits) follows it."""
    slack = session_slack
    _session_with_one_post(slack)
    _owe_board_update(slack, "older news", attempts=1)  # tried; the sender's claim ran out
    _refresh_board(slack)
    assert _board_updates_waiting(slack) == [(1, NEWS), (0, NEWS)]
    _refresh_board(slack)
    assert _board_updates_waiting(slack) == [(1, NEWS), (0, NEWS)], "the new one carries it"
    slack.settle()
    assert _board_updates_waiting(slack) == []
    assert "1 post so far (1 want, 0 offers)" in board_text(slack)[1]


def test_an_update_a_sender_holds_now_is_left_alone_and_a_new_one_follows(
    session_slack: SlackDriver,
) -> None:
    """An update on its way to Slack this moment (claimed) is not rewritten under the sender:
    the news goes in a new update after it."""
    slack = session_slack
    _session_with_one_post(slack)
    claimed = utcnow() + timedelta(minutes=1)  # a sender has it now
    _owe_board_update(slack, "in flight", attempts=1, claimed_until=claimed)
    _refresh_board(slack)
    assert _board_updates_waiting(slack) == [(1, "in flight"), (0, NEWS)]


def test_the_outputs_list_at_most_25_lines_a_section() -> None:
    start = utcnow()
    wants = tuple(
        SessionPostLine(n, "want", "Devon", f"Want number {n}", None) for n in range(1, 31)
    )
    view = SessionView(
        id=1,
        channel=MARKET,
        started_at=start,
        ends_at=start + timedelta(minutes=15),
        ended_at=start + timedelta(minutes=15),
        now=start + timedelta(minutes=15),
        wants=30,
        offers=0,
        participants=1,
        demand=(),  # none placed in a service area
        supply=(),
        introductions=(),
        unmatched_wants=wants,
    )
    message = session_messages.outputs(view)
    validate_blocks(message["blocks"])
    shown = "\n".join(_texts(message["blocks"]))
    assert "*Introductions made (0)*\nNone this time." in shown
    assert "*Wants still unmatched (30)*" in shown and "… and 5 more" in shown
    assert "Want number 25" in shown and "Want number 26" not in shown
    assert "Not placed in a service area: 30 wants" in shown and "No offers yet." in shown
    assert "Other" not in shown


# ---------------------------------------------------------------- sessions in stats and export


def test_sessions_appear_in_stats_and_the_export(
    session_slack: SlackDriver,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    slack = session_slack
    devon, lewisham, notts = people(slack)
    stats = admin(slack, "stats")
    assert "Live marketplace sessions*: 0 in all" in stats
    assert "None yet: a facilitator starts one with `/km-admin session start`." in stats

    admin(slack, "session start 20")
    slack.slash(lewisham, "/offer", "Homelessness prevention triage script and training")
    slack.settle()
    slack.slash(notts, "/want", "Help with homelessness prevention triage at the front door")
    slack.slash(devon, "/want", "School admissions appeals process")
    slack.settle()
    with slack.services.session_factory() as session:
        market = session.query(MarketSession).one()
    # Started at 10:15 UTC on 16 June 2027 (the tests' clock): 11:15 by UK clocks (BST).
    started = "16 Jun 2027 11:15"
    stats = admin(slack, "stats")
    assert f"{started}, running until 11:35 in <#{MARKET}>" in stats

    later = utcnow() + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        admin(slack, "session end")
    slack.slash(devon, "/offer", "Our school admissions appeals guide")  # after the session
    slack.settle()

    line = (
        f"{started}–11:20 in <#{MARKET}>: 3 posts (2 wants, 1 offer) from 3 people, 1 introduction"
    )
    stats = admin(slack, "stats")
    assert "Live marketplace sessions*: 1 in all" in stats and line in stats

    # The command line: text, JSON (a new key; the others kept) and the export.
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KMBOT_LOG_LEVEL", "WARNING")
    out = io.StringIO()
    assert main(["stats"], out) == 0
    assert "LIVE MARKETPLACE SESSIONS: 1 in all" in out.getvalue()
    assert line.replace(f"<#{MARKET}>", MARKET) in out.getvalue()
    out = io.StringIO()
    assert main(["stats", "--json"], out) == 0
    data = json.loads(out.getvalue())
    assert "introductions_made" in data and "outputs" in data, "existing keys kept"
    assert data["outputs"]["sessions"] == 1 and data["outputs"]["session_posts"] == 3
    assert data["sessions"]["total"] == 1
    recent = data["sessions"]["recent"][0]
    assert {k: recent[k] for k in ("channel", "posts", "wants", "offers", "introductions")} == {
        "channel": MARKET,
        "posts": 3,
        "wants": 2,
        "offers": 1,
        "introductions": 1,
    }
    assert recent["participants"] == 3 and recent["running"] is False
    assert recent["started_at"] == market.started_at.isoformat()
    assert recent["ended_at"] == later.isoformat()

    folder = tmp_path / "export"
    out = io.StringIO()
    assert main(["export", "--out", str(folder)], out) == 0
    assert f"{folder / 'sessions.csv'}: 1 row(s)" in out.getvalue()
    assert f"{folder / 'outputs.csv'}:" in out.getvalue()
    sessions = csv_rows((folder / "sessions.csv").read_bytes())
    assert [(s["channel"], s["posts"], s["introductions"]) for s in sessions] == [
        (MARKET, "3", "1")
    ]
    assert sessions[0]["started_by"] == FACILITATOR
    posts = csv_rows((folder / "posts.csv").read_bytes())
    assert list(posts[0])[: len(POSTS_HEADER) - 2] == list(POSTS_HEADER[:-2]), "columns added last"
    assert [(p["session_id"], p["service_area"]) for p in posts] == [
        (sessions[0]["id"], "Housing"),
        (sessions[0]["id"], "Housing"),
        (sessions[0]["id"], "Education and learning"),
        ("", "Education and learning"),
    ]
    rows = csv_rows((folder / "outputs.csv").read_bytes())
    totals = {r["section"]: r["count"] for r in rows if r["area"] == ""}
    assert (totals["sessions"], totals["session_posts"], totals["posts"]) == ("1", "3", "4")
    assert {(r["section"], r["area"]) for r in rows} >= {
        ("demand", "Housing"),
        ("demand", "Education and learning"),
        ("supply", "Housing"),
        ("supply", "Education and learning"),
    }

    # /km-admin export sends the same files to the facilitator.
    assert "sent you the CSV files" in admin(slack, "export")
    sent = {f.filename.split("-", 4)[-1]: f.content for f in slack.fake.files()}
    assert set(sent) == {
        "posts.csv",
        "introductions.csv",
        "outcomes.csv",
        "councils.csv",
        "sessions.csv",
        "outputs.csv",
    }
    assert csv_rows(sent["sessions.csv"]) == sessions


def test_stats_show_the_five_most_recent_sessions(session_slack: SlackDriver) -> None:
    slack = session_slack
    for n in range(7):
        with time_machine.travel(utcnow() + timedelta(hours=n), tick=False):
            admin(slack, "session start 10")
            admin(slack, "session end")
    stats = admin(slack, "stats")
    assert "Live marketplace sessions*: 7 in all" in stats
    assert stats.count("0 posts (0 wants, 0 offers) from 0 people, 0 introductions") == 5
    assert "… and 2 earlier" in stats
