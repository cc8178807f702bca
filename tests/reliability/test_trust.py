"""Trust: one workspace means one workspace, the open-post limit holds when a post is reopened,
one link rule for every way in, text kept as typed, and personal data kept as documented."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slackkit import SlackDriver, make_services
from sqlalchemy import select

from bot.cli.main import main as kmbot
from bot.kernel.errors import InvalidInput
from bot.kernel.links import validate_link
from bot.services import audit
from bot.services.reminders import expire_posts, send_expiry_reminders
from bot.services.workshop_csv import parse_workshop
from bot.slack import ids
from reliability.ledger import SIGNING_SECRET, settings_for, snapshot
from storage import db
from storage.models import AuditEntry, Post, PostStatus

MARKET = "C0MARKET"
FORM = "application/x-www-form-urlencoded"


# ---------------------------------------------------------------- one workspace


def _command(slack: SlackDriver, user: str, **ids_: str) -> str:
    fields = {
        "channel_id": MARKET,
        "user_id": user,
        "command": "/offer",
        "text": "Our records retention schedule",
        "response_url": slack.fake.new_response_url(user=user, channel=MARKET),
        "trigger_id": slack.fake.new_trigger_id(user=user),
        "api_app_id": "A0KMBOT",
    }
    return urlencode({**ids_, **fields})


@pytest.mark.parametrize("enterprise", ["", "E0KMNET"], ids=["team only", "team and organisation"])
def test_only_the_configured_workspace_is_served(
    sqlite_url: str, fake_slack: Any, enterprise: str
) -> None:
    settings = settings_for(
        sqlite_url, fake_slack, slack_team_id="T0KMBOT", slack_enterprise_id=enterprise
    )
    slack = SlackDriver(settings, make_services(settings), fake_slack, SIGNING_SECRET)
    try:
        devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
        before = snapshot(slack)
        refused = {
            "another organisation": {"team_id": "T0KMBOT", "enterprise_id": "E0ELSEWHERE"},
            "another workspace of our organisation": {
                "team_id": "T0ELSEWHERE",
                "enterprise_id": "E0KMNET",
            },
        }
        if not enterprise:
            # With only a workspace set, an organisation's request or one naming no workspace
            # could come from anywhere.
            refused["our workspace, through an organisation"] = {
                "team_id": "T0KMBOT",
                "enterprise_id": "E0KMNET",
            }
            refused["no workspace at all"] = {}
        for label, sent in refused.items():
            assert slack.send(_command(slack, devon, **sent), FORM).status == 403, label
        slack.settle()
        assert snapshot(slack) == before, "a refused request changed something"

        accepted = [{"team_id": "T0KMBOT"}]
        if enterprise:
            accepted += [
                {"team_id": "T0KMBOT", "enterprise_id": "E0KMNET"},
                {"enterprise_id": "E0KMNET"},
            ]
        for sent in accepted:
            assert slack.send(_command(slack, devon, **sent), FORM).status == 200, sent
        slack.settle()
        assert len(slack.fake.messages(MARKET)) == len(accepted), "each accepted offer posted"
    finally:
        slack.close()


# ---------------------------------------------------------------- the open-post limit


def _open_wants(slack: SlackDriver) -> list[int]:
    with slack.services.session_factory() as session:
        return list(
            session.scalars(
                select(Post.id).where(Post.kind == "want", Post.status == PostStatus.OPEN)
            )
        )


def test_reopening_an_expired_post_respects_the_open_post_limit(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    slack.slash(devon, "/want", "A records retention schedule for adult social care")
    slack.settle()
    (expired_id,) = _open_wants(slack)
    factory, settings = slack.services.session_factory, slack.settings
    with factory() as session:
        expires_at = session.get(Post, expired_id).expires_at  # type: ignore[union-attr]
    send_expiry_reminders(factory, settings=settings, now=expires_at - timedelta(days=6))
    assert expire_posts(factory, settings=settings, now=expires_at + timedelta(minutes=1)) == 1
    for topic in ("data sharing", "cyber security", "FOI", "asset registers", "GIS"):
        slack.slash(devon, "/want", f"Help with our {topic} policy and practice")
    slack.settle()
    assert len(_open_wants(slack)) == settings.max_open_posts == 5

    slack.click(devon, ids.ACT_STILL_NEEDED, str(expired_id))
    slack.settle()
    reply = slack.fake.ephemerals(devon)[-1]
    assert "You already have 5 open wants" in reply.text
    assert sum(1 for b in reply.blocks or [] if b.get("accessory")) == 5, "a Close for each"
    assert expired_id not in _open_wants(slack) and len(_open_wants(slack)) == 5

    slack.slash(devon, "/km", f"close {_open_wants(slack)[0]}")
    slack.settle()
    slack.click(devon, ids.ACT_STILL_NEEDED, str(expired_id))
    slack.settle()
    assert expired_id in _open_wants(slack) and len(_open_wants(slack)) == 5


# ---------------------------------------------------------------- links


@pytest.mark.parametrize(
    "link",
    [
        "https://example.gov.uk/guide|Click here for the official guide",
        "https://example.gov.uk/<script>",
        "https://example.gov.uk/a b",
        "ftp://example.gov.uk/file",
        "https://example.gov.uk/" + "x" * 500,
    ],
)
def test_the_importer_refuses_links_the_post_form_refuses(tmp_path: Path, link: str) -> None:
    with pytest.raises(InvalidInput):
        validate_link(link)
    csv_text = (
        "council,name,email,kind,text,link\n"
        f'Devon County Council,Jo Bloggs,jo.bloggs@devon.gov.uk,offer,Our toolkit,"{link}"\n'
    )
    parsed = parse_workshop(io.StringIO(csv_text))
    assert not parsed.rows
    assert [p.line for p in parsed.problems] == [2]
    assert "link" in parsed.problems[0].reason

    workshop = tmp_path / "workshop.csv"
    workshop.write_text(csv_text, encoding="utf-8")
    database = tmp_path / "kmbot.sqlite3"
    env = {"DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-m", "bot.cli", "import", str(workshop)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode != 0 and "line 2" in run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    if database.exists():  # the file is checked before the database is touched
        with sqlite3.connect(database) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            assert "posts" not in tables or conn.execute(
                "SELECT COUNT(*) FROM posts"
            ).fetchone() == (0,)


# ---------------------------------------------------------------- text as typed


def test_text_with_ampersands_and_angle_brackets_is_kept_as_typed(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    # Slack sends "&amp;", "&lt;" and "&gt;" for these in a command (the driver escapes as Slack).
    slack.slash(devon, "/want", "R&D <draft> records retention schedule for schools")
    slack.settle()
    slack.slash(lewisham, "/offer", "")
    slack.settle()
    slack.submit(
        lewisham,
        slack.last_modal(),
        {
            "text_block": {
                "text": {
                    "type": "plain_text_input",
                    "value": "R&D <draft> retention schedule for schools",
                }
            }
        },
    )
    slack.settle()
    with slack.services.session_factory() as session:
        texts = sorted(session.scalars(select(Post.text)))
    assert texts == [
        "R&D <draft> records retention schedule for schools",
        "R&D <draft> retention schedule for schools",
    ]
    cards = [m.blocks[0]["text"]["text"] for m in slack.fake.messages(MARKET)]
    # Slack shows "&amp;" as "&": escaped exactly once.
    assert all("R&amp;D &lt;draft&gt;" in c and "&amp;amp;" not in c for c in cards)
    thread = slack.fake.thread(MARKET, slack.fake.messages(MARKET)[0].ts)
    assert thread, "the two were introduced"
    why = " ".join(str(m.blocks) for m in thread)
    assert "amp" not in why.replace("&amp;", "") and "lt;" not in why.replace("&lt;", "")


def test_text_stored_escaped_by_earlier_versions_is_unescaped_by_the_migration(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    db.upgrade(url, revision="0004")
    with sqlite3.connect(tmp_path / "old.sqlite3") as conn:
        conn.execute(
            "INSERT INTO councils (id, name, short_name, other_names, is_reference, created_at) "
            "VALUES (1, 'Devon County Council', 'Devon', '[]', 1, '2026-01-01 00:00:00')"
        )
        for post_id, source, text in (
            (1, "slack", "R&amp;D &lt;draft&gt; retention"),
            (2, "workshop", "Typed as &amp; in a file"),
        ):
            conn.execute(
                "INSERT INTO posts (id, council_id, kind, text, status, source, created_at, "
                "expires_at, refreshed_at, changed_at) VALUES (?, 1, 'want', ?, 'open', ?, "
                "'2026-01-01 00:00:00', '2026-04-01 00:00:00', '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00')",
                (post_id, text, source),
            )
    db.upgrade(url)
    with sqlite3.connect(tmp_path / "old.sqlite3") as conn:
        assert conn.execute("SELECT text FROM posts ORDER BY id").fetchall() == [
            ("R&D <draft> retention",),
            ("Typed as &amp; in a file",),
        ]


# ---------------------------------------------------------------- personal data


def test_forget_me_removes_the_members_slack_id_from_the_audit_log(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    slack.slash(devon, "/want", "A records retention schedule")
    slack.slash(devon, "/km-admin", "remove 1 because I typed something personal")
    slack.settle()
    with slack.services.session_factory.begin() as session:
        audit.record(session, "U0FACIL", "facilitator.add", devon, after={"slack_user_id": devon})
    with slack.services.session_factory() as session:
        logged = session.scalars(select(AuditEntry)).all()
        assert any(e.actor == devon for e in logged)
        refused = [e for e in logged if e.action == "refused"]
        assert [(e.target, e.after) for e in refused] == [("/km-admin remove", None)]
        assert all("personal" not in str((e.target, e.before, e.after)) for e in logged)

    slack.slash(devon, "/km", "forget-me confirm")
    slack.settle()
    with slack.services.session_factory() as session:
        logged = session.scalars(select(AuditEntry)).all()
        everything = str([(e.actor, e.target, e.before, e.after) for e in logged])
        assert devon not in everything
        assert [e.action for e in logged].count("refused") == 1, "the actions stay"
        assert {e.actor for e in logged if e.action == "refused"} == {audit.ERASED_ACTOR}


# ---------------------------------------------------------------- a quiet start


def test_the_sandbox_starts_quietly_with_its_address_first(tmp_path: Path) -> None:
    lines, errors = _first_words_of(["sandbox", "--port", "0", "--no-example"], tmp_path, {})
    assert lines[0].startswith("kmbot sandbox is running: open http://")
    assert errors == "", f"nothing but the address and what to do, not: {errors!r}"


def test_serve_logs_at_the_configured_level_without_library_chatter(tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}
    lines, errors = _first_words_of(["serve", "--port", "0", "--host", "127.0.0.1"], tmp_path, env)
    assert lines[0].startswith("kmbot is serving Slack on http://127.0.0.1:")
    assert "alembic" not in errors and "`token` will be unused" not in errors
    assert "INFO bot." in errors, "the bot's own records at the default INFO"
    _, errors = _first_words_of(
        ["serve", "--port", "0", "--host", "127.0.0.1"],
        tmp_path,
        {**env, "KMBOT_LOG_LEVEL": "warning"},
    )
    assert errors == ""


def test_an_unknown_log_level_is_explained(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KMBOT_LOG_LEVEL", "loud")
    assert kmbot(["stats"]) == 2
    assert "KMBOT_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not 'loud'" in (
        capsys.readouterr().err
    )


def _first_words_of(args: list[str], tmp_path: Path, env: dict[str, str]) -> tuple[list[str], str]:
    """Start ``kmbot ARGS``, wait for its first line on stdout, stop it; return its stdout lines
    and everything it wrote to stderr by then."""
    full_env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kmbot.sqlite3'}",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
    finally:
        process.terminate()
        out, err = process.communicate(timeout=60)
    return [first, *out.splitlines()], err
