"""Requests: forged, stale, malformed, replayed and foreign requests are refused and change nothing;
every button and modal checks who may use it."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from slackkit import SlackDriver, make_services

from bot.app import create_web
from bot.slack import ids
from reliability.ledger import SIGNING_SECRET, settings_for, snapshot
from reliability.reliability_figures import engine_of, record
from storage.models import Introduction, Post

MARKET = "C0MARKET"


def _slash_body(slack: SlackDriver, user: str, text: str, team: str = "T0KMBOT") -> str:
    return urlencode(
        {
            "team_id": team,
            "channel_id": MARKET,
            "user_id": user,
            "command": "/offer",
            "text": text,
            "response_url": slack.fake.new_response_url(user=user, channel=MARKET),
            "trigger_id": slack.fake.new_trigger_id(user=user),
            "api_app_id": "A0KMBOT",
        }
    )


FORM = "application/x-www-form-urlencoded"


def test_forged_stale_malformed_and_replayed_requests_are_refused(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    before = snapshot(slack)
    now = int(time.time())
    cases: list[tuple[str, dict[str, str]]] = []
    body = _slash_body(slack, devon, "Our records retention schedule")
    good = slack.signed_headers(body, FORM)
    cases.append(("forged signature", {**good, "x-slack-signature": "v0=" + "0" * 64}))
    cases.append(
        (
            "signed with another secret",
            {
                **good,
                "x-slack-signature": slack.verifier.generate_signature(
                    timestamp=str(now), body=body + "x"
                ),
            },
        )
    )
    cases.append(("no signature", {k: v for k, v in good.items() if k != "x-slack-signature"}))
    cases.append(
        ("no timestamp", {k: v for k, v in good.items() if k != "x-slack-request-timestamp"})
    )
    for label, ts in (
        ("stale by 6 minutes", now - 360),
        ("stale by a day", now - 86400),
        ("from the future", now + 3600),
    ):
        cases.append((label, slack.signed_headers(body, FORM, timestamp=ts)))
    for raw in ("abc", "", "1.5e9", "-1", "99999999999999999999999", " 1700000000", "１２３"):
        headers = dict(good)
        headers["x-slack-request-timestamp"] = raw
        headers["x-slack-signature"] = slack.verifier.generate_signature(timestamp=raw, body=body)
        cases.append((f"timestamp {raw!r}", headers))
    for label, headers in cases:
        resp = slack.web.dispatch(body, headers)
        assert 400 <= resp.status < 500, f"{label}: {resp.status}"
    slack.settle()
    assert snapshot(slack) == before, "a refused request changed something"

    # The genuine request is accepted once; the same request again is a replay.
    first = slack.web.dispatch(body, good)
    assert first.status == 200
    slack.settle()
    replay = slack.web.dispatch(body, good)
    assert replay.status == 401
    # Another web process on the same database refuses it too (replays are remembered there).
    other = create_web(slack.settings, make_services(slack.settings))
    try:
        assert other.dispatch(body, good).status == 401
    finally:
        other.container.close()
    slack.settle()
    with slack.services.session_factory() as session:
        assert session.query(Post).count() == 1
    assert len(slack.fake.messages(MARKET)) == 1
    engine = engine_of(slack.settings.database_url)
    record(
        f"forged, stale, malformed and replayed requests ({engine})",
        requests_refused=len(cases) + 2,
        accepted=1,
        posts_stored=1,
        changed_by_refused=0,
    )


def test_requests_from_another_workspace_are_refused(database_url: str, fake_slack: Any) -> None:
    settings = settings_for(database_url, fake_slack, slack_team_id="T0KMBOT")
    slack = SlackDriver(settings, make_services(settings), fake_slack, SIGNING_SECRET)
    try:
        devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
        before = snapshot(slack)
        body = _slash_body(slack, devon, "Records retention schedule", team="T0ELSEWHERE")
        assert slack.send(body, FORM).status == 403
        payload = {
            "type": "block_actions",
            "user": {"id": devon, "team_id": "T0ELSEWHERE"},
            "team": {"id": "T0ELSEWHERE"},
            "api_app_id": "A0KMBOT",
            "trigger_id": slack.fake.new_trigger_id(user=devon),
            "actions": [
                {
                    "type": "button",
                    "action_id": ids.ACT_WITHDRAW,
                    "block_id": "b",
                    "value": "1",
                    "action_ts": "1",
                }
            ],
        }
        assert slack.interaction(payload).status == 403
        slack.settle()
        assert snapshot(slack) == before
        assert (
            slack.send(_slash_body(slack, devon, "Records retention schedule"), FORM).status == 200
        )
        slack.settle()
        assert len(slack.fake.messages(MARKET)) == 1
        record(
            f"other workspaces ({engine_of(database_url)})",
            requests_refused=2,
            changed_by_refused=0,
        )
    finally:
        slack.close()


# ---------------------------------------------------------------- who may use each button


def _market(slack: SlackDriver) -> tuple[str, str, str]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    stranger = slack.user("U0NORF", "Alex Reed", "alex.reed@norfolk.gov.uk")
    slack.slash(devon, "/offer", "Information asset register (IAR) template and guidance")
    slack.settle()
    slack.slash(lewisham, "/want", "Help setting up an information asset register")
    slack.settle()
    slack.slash(stranger, "/offer", "Our knowledge cafe facilitation guide")  # joins Norfolk
    slack.settle()
    return devon, lewisham, stranger


# Every button id in bot/ids.py (ids inside modals, paired with a BLK_ id, are form fields).
ACTIONS = sorted(
    v
    for k, v in vars(ids).items()
    if k.startswith("ACT_")
    and isinstance(v, str)
    and "BLK_" + k[4:] not in vars(ids)
    and v != ids.ACT_COUNCIL_PICK
)
# Open to anyone by design: offering help opens a form; opening the post form posts nothing.
OPEN_TO_ALL = {
    ids.ACT_CAN_HELP,
    ids.ACT_INTERESTED,
    ids.ACT_NUDGE_HELP,
    ids.ACT_OPEN_POST_MODAL,
    ids.ACT_BROWSE_HELP,  # App Home's "I can help" / "I'm interested": any member may offer
}


def test_every_button_refuses_someone_it_does_not_belong_to(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    _devon, _lewisham, stranger = _market(slack)
    with slack.services.session_factory() as session:
        intro = session.query(Introduction).one()
        targets = [
            str(intro.id),
            str(intro.want_id),
            str(intro.offer_id),
            "1",
            "2",
            "#2",
            "999999",
            "-1",
            "abc",
            "",
        ]
    before = snapshot(slack)
    clicks = 0
    for action in ACTIONS:
        if action in OPEN_TO_ALL:
            continue
        for value in targets:
            resp = slack.click(stranger, action, value)
            assert resp.status == 200, (action, value, resp.status)
            clicks += 1
    slack.settle()
    after = snapshot(slack)
    assert after == before, "a stranger's click changed something"
    refusals = [e for e in slack.fake.ephemerals(stranger) if e.source == "response_url"]
    assert refusals, "refused clicks are answered"
    # Modals: the outcome form for someone else's want records nothing.
    views = 0
    for callback in sorted(v for k, v in vars(ids).items() if k.startswith("VIEW_")):
        if callback in (ids.VIEW_POST, ids.VIEW_JOIN):
            continue  # anyone may post, or join
        for meta in targets:
            view = {
                "id": "V0X",
                "type": "modal",
                "callback_id": callback,
                "private_metadata": meta,
                "title": {"type": "plain_text", "text": "x"},
                "blocks": [],
            }
            values = {
                ids.BLK_DAYS: {ids.ACT_DAYS: {"type": "plain_text_input", "value": "30"}},
                ids.BLK_NOTE: {ids.ACT_NOTE: {"type": "plain_text_input", "value": "hi"}},
            }
            assert slack.submit(stranger, view, values).status < 500
            views += 1
    slack.settle()
    assert snapshot(slack) == before, "a stranger's form changed something"
    record(
        f"buttons and modals refuse strangers ({engine_of(slack.settings.database_url)})",
        buttons_checked=len(set(ACTIONS) - OPEN_TO_ALL),
        buttons_open_to_all=len(OPEN_TO_ALL & set(ACTIONS)),
        clicks=clicks,
        modal_submissions=views,
        changed=0,
    )


def test_admin_command_refuses_members_who_are_not_facilitators(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    _devon, _lewisham, stranger = _market(slack)
    before = snapshot(slack)
    words = [
        "",
        "help",
        "stats",
        "export",
        "remove 1 spam",
        "introduce 2 1",
        "facilitator add <@U0NORF>",
        "cop add <#C0IMCOP|im> IM tuesday 10:00",
        "nudge now #im",
        "audit",
    ]
    for text in words:
        assert slack.slash(stranger, "/km-admin", text).status == 200
    slack.settle()
    after = snapshot(slack)
    # The refusals themselves are written to the audit log, by design; nothing else changes.
    logged = after.pop("audit_log")
    assert len(logged) == len(words) and all("refused" in row for row in logged)
    before.pop("audit_log")
    assert after == before
    replies = [e.text for e in slack.fake.ephemerals(stranger)][-len(words) :]
    assert all("facilitator" in r.lower() for r in replies), replies
    record(
        f"admin command refuses non-facilitators ({engine_of(slack.settings.database_url)})",
        commands_tried=len(words),
        changed=0,
    )
