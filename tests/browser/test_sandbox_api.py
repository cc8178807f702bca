"""The sandbox's endpoints and the fake Slack's additions it relies on, without a browser."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.devtools.fakeslack import FakeSlack
from bot.devtools.sandbox.clock import ahead_text
from bot.devtools.sandbox.server import Sandbox
from bot.kernel.settings import Settings

SARAH, DELROY, HELEN, ALEX = "U0SARAH", "U0DELROY", "U0HELEN", "U0ALEX"
MARKET = "C0MARKET"
LONDON = ZoneInfo("Europe/London")
# Every sandbox here starts its clock at a fixed instant, so no test depends on the day it runs.
MONDAY_NOON = datetime(2027, 1, 4, 12, 0, tzinfo=LONDON)  # IM's nudge: Tuesday 10:00
THURSDAY_BEFORE_NUDGE = datetime(2027, 1, 7, 13, 55, tzinfo=LONDON)  # OL's nudge: Thursday 14:00


# ---------------------------------------------------------------- the fake Slack's additions


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def test_conversations_list_pages_through_channels_by_type(fake: FakeSlack) -> None:
    client = WebClient(token=fake.bot_token, base_url=fake.url)
    for n in range(5):
        fake.add_channel(f"C0{n}", f"channel-{n}")
    fake.add_channel("G0SECRET", "secret", is_private=True)
    client.conversations_open(users="U0ALICE")

    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        resp = client.conversations_list(limit=2, cursor=cursor)
        names += [c["name"] for c in resp["channels"]]
        pages += 1
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert names == [f"channel-{n}" for n in range(5)] and pages == 3
    both = client.conversations_list(types="public_channel,private_channel")["channels"]
    assert {c["id"] for c in both} == {"C00", "C01", "C02", "C03", "C04", "G0SECRET"}
    assert [c["is_im"] for c in client.conversations_list(types="im")["channels"]] == [True]
    with pytest.raises(SlackApiError) as err:
        client.conversations_list(types="nonsense")
    assert err.value.response["error"] == "invalid_types"


MODAL = {
    "type": "modal",
    "callback_id": "m",
    "title": {"type": "plain_text", "text": "First"},
    "blocks": [],
}


def test_each_member_has_a_stack_of_modals(fake: FakeSlack) -> None:
    client = WebClient(token=fake.bot_token, base_url=fake.url)
    opened = client.views_open(trigger_id=fake.new_trigger_id(user="U0A"), view=MODAL)["view"]
    assert fake.modal("U0A")["id"] == opened["id"] and fake.modal("U0B") is None
    second = dict(MODAL, title={"type": "plain_text", "text": "Second"})
    pushed = client.views_push(trigger_id=fake.new_trigger_id(user="U0A"), view=second)["view"]
    assert fake.modal("U0A")["id"] == pushed["id"]

    ws = fake.workspace
    ws.answer_submission("U0A", pushed["id"], {"response_action": "errors", "errors": {"b": "x"}})
    assert fake.modal("U0A")["id"] == pushed["id"]  # errors keep the modal open
    third = dict(MODAL, title={"type": "plain_text", "text": "Third"})
    ws.answer_submission("U0A", pushed["id"], {"response_action": "update", "view": third})
    assert fake.modal("U0A")["title"]["text"] == "Third"
    ws.answer_submission("U0A", pushed["id"], {})  # a plain ack closes the top modal
    assert fake.modal("U0A")["id"] == opened["id"]
    ws.answer_submission("U0A", opened["id"], {"response_action": "clear"})
    assert fake.modal("U0A") is None
    client.views_open(trigger_id=fake.new_trigger_id(user="U0A"), view=MODAL)
    ws.close_modal("U0A")
    assert fake.modal("U0A") is None


# ---------------------------------------------------------------- the sandbox, in-process


@pytest.fixture
def sandbox(database_url: str) -> Iterator[Sandbox]:
    """The sandbox on an ephemeral port, without the example workshop (quicker), its clock
    started at noon on Monday 4 January 2027."""
    with Sandbox(
        Settings(database_url=database_url), port=0, example=False, start_at=MONDAY_NOON
    ) as running:
        yield running


def _post(
    sandbox: Sandbox, path: str, body: dict[str, Any], *, content_type: str = "application/json"
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{sandbox.fake.port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": content_type},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _state(
    sandbox: Sandbox, user: str, conversation: str = MARKET, thread: str = ""
) -> dict[str, Any]:
    url = (
        f"http://127.0.0.1:{sandbox.fake.port}/sandbox/state?user={user}"
        f"&conversation={conversation}&thread={thread}"
    )
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def test_posts_match_and_only_the_parties_may_answer(sandbox: Sandbox) -> None:
    fake = sandbox.fake
    status, answer = _post(
        sandbox,
        "/sandbox/command",
        {"user": SARAH, "channel": MARKET, "text": "/offer Our retention schedule template"},
    )
    assert status == 200 and answer["ok"]
    # One at a time, as people do.
    fake.wait_until(lambda: fake.messages(MARKET), timeout=10, message="the offer's card")
    _post(
        sandbox,
        "/sandbox/command",
        {"user": DELROY, "channel": MARKET, "text": "/want A retention schedule template"},
    )
    cards = fake.wait_until(
        lambda: len(fake.messages(MARKET)) == 2 and fake.messages(MARKET),
        timeout=10,
        message="two cards",
    )
    want = cards[1]
    assert "London Borough of Lewisham" in json.dumps(want.blocks)
    intro = fake.wait_until(lambda: fake.thread(MARKET, want.ts), timeout=10)[0]

    state = _state(sandbox, HELEN, thread=want.ts)
    assert state["thread"]["replies"][0]["ts"] == intro.ts
    button = {
        "type": "button",
        "action_id": "intro_useful",
        "value": intro.blocks[-1]["elements"][0]["value"],
    }
    _post(
        sandbox,
        "/sandbox/click",
        {"user": HELEN, "channel": MARKET, "ts": intro.ts, "action": button},
    )
    refusal = fake.wait_until(lambda: fake.ephemerals(HELEN), timeout=10)[0]
    assert "Only the two people introduced" in refusal.text
    assert refusal.thread_ts == want.ts  # shown in the thread it was clicked in
    thread = _state(sandbox, HELEN, thread=want.ts)["thread"]["replies"]
    assert [r["ephemeral"] for r in thread] == [False, True]

    _post(
        sandbox,
        "/sandbox/click",
        {"user": DELROY, "channel": MARKET, "ts": intro.ts, "action": button},
    )
    fake.wait_until(
        lambda: "Marked useful" in json.dumps(fake.message(MARKET, intro.ts).blocks),
        timeout=10,
        message="the introduction shows its new state",
    )


def test_the_post_modal_round_trip_with_the_bots_own_errors(sandbox: Sandbox) -> None:
    fake = sandbox.fake
    _post(sandbox, "/sandbox/command", {"user": HELEN, "channel": MARKET, "text": "/want"})
    view = fake.wait_until(lambda: fake.modal(HELEN), timeout=10)
    assert _state(sandbox, HELEN)["modal"]["id"] == view["id"]
    empty = {"text_block": {"text": {"type": "plain_text_input", "value": "   "}}}
    status, answer = _post(
        sandbox, "/sandbox/submit", {"user": HELEN, "view_id": view["id"], "values": empty}
    )
    assert status == 200 and "text_block" in answer["errors"]
    assert fake.modal(HELEN) is not None
    values = {
        "text_block": {"text": {"type": "plain_text_input", "value": "A knowledge café guide"}},
        "area_block": {
            "area": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Organisational Learning"},
                    "value": "OL",
                },
            }
        },
    }
    status, answer = _post(
        sandbox, "/sandbox/submit", {"user": HELEN, "view_id": view["id"], "values": values}
    )
    assert status == 200 and answer == {"ok": True}
    assert fake.modal(HELEN) is None
    card = fake.wait_until(lambda: fake.messages(MARKET), timeout=10)[0]
    assert "A knowledge café guide" in json.dumps(card.blocks, ensure_ascii=False)
    assert "Organisational Learning" in json.dumps(card.blocks, ensure_ascii=False)


def test_user_text_stays_text(sandbox: Sandbox) -> None:
    fake = sandbox.fake
    _post(
        sandbox,
        "/sandbox/command",
        {"user": SARAH, "channel": MARKET, "text": "/offer <script>alert(1)</script> & <!channel>"},
    )
    card = fake.wait_until(lambda: fake.messages(MARKET), timeout=10)[0]
    shown = json.dumps(
        [
            m["blocks"]
            for m in _state(sandbox, SARAH)["conversation"]["messages"]
            if m["ts"] == card.ts
        ]
    )
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "<!channel>" not in json.dumps(card.blocks, ensure_ascii=False)
    with urllib.request.urlopen(f"http://127.0.0.1:{sandbox.fake.port}/", timeout=10) as resp:
        page = resp.read().decode()
        policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy.split("script-src")[1]
    # The page builds the DOM with textContent only.
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page


def test_what_the_page_refuses(sandbox: Sandbox) -> None:
    status, answer = _post(
        sandbox, "/sandbox/command", {"user": SARAH, "channel": MARKET, "text": "/giphy cats"}
    )
    assert status == 400 and "not a kmbot command" in answer["message"]
    status, answer = _post(
        sandbox, "/sandbox/command", {"user": "U0NOBODY", "channel": MARKET, "text": "/km help"}
    )
    assert status == 400 and "Choose a member" in answer["message"]
    status, _ = _post(sandbox, "/sandbox/command", {"user": SARAH}, content_type="text/plain")
    assert status == 415  # a form posted from another site cannot act
    # The bot itself refuses what Slack did not sign.
    unsigned = urllib.request.Request(
        sandbox.bot_url, data=b"command=%2Fkm&text=help", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(unsigned, timeout=10)
    assert err.value.code == 401


def test_facilitator_commands_and_the_next_job(sandbox: Sandbox) -> None:
    fake = sandbox.fake
    _post(sandbox, "/sandbox/command", {"user": ALEX, "channel": MARKET, "text": "/km-admin stats"})
    reply = fake.wait_until(lambda: fake.ephemerals(ALEX), timeout=10)[0]
    assert "Councils and members by region" in reply.text + json.dumps(reply.blocks)
    _post(
        sandbox, "/sandbox/command", {"user": SARAH, "channel": MARKET, "text": "/km-admin stats"}
    )
    refused = fake.wait_until(lambda: fake.ephemerals(SARAH), timeout=10)[0]
    assert "facilitator" in (refused.text + json.dumps(refused.blocks)).lower()

    state = _state(sandbox, SARAH)
    assert state["clock"]["text"] == "Mon 4 Jan 2027, 12:00"
    assert state["clock"]["ahead"] == "" and state["clock"]["days_ahead"] == 0
    jobs = {j["kind"]: j for j in state["jobs"]}
    assert jobs["nudge"]["label"] == "Weekly nudge in #cop-information-management"
    assert jobs["nudge"]["when"] == "tomorrow, 10:00"
    assert jobs["digest"]["when"] == "Mon 11 Jan 2027, 09:00"
    status, answer = _post(sandbox, "/sandbox/run-job", {"user": SARAH, "job": "nudge"})
    assert status == 200 and answer["ok"], answer
    assert answer["ran"] == "Weekly nudge in #cop-information-management"
    assert answer["at"] == "Tue 5 Jan 2027, 10:00"
    assert answer["report"] == ["Nudge sent to #cop-information-management."]
    assert answer["clock"]["text"] == "Tue 5 Jan 2027, 10:00"
    assert answer["clock"]["ahead"] == "+22 hours" and answer["clock"]["days_ahead"] == 0.9
    fake.wait_until(
        lambda: fake.messages("C0COPIM"),
        timeout=10,
        message="the nudge in #cop-information-management",
    )
    # The next one is Thursday's, in the other community.
    jobs = {j["kind"]: j for j in _state(sandbox, SARAH)["jobs"]}
    assert jobs["nudge"]["label"] == "Weekly nudge in #cop-organisational-learning"
    assert jobs["nudge"]["when"] == "Thu 7 Jan 2027, 14:00"


def test_a_nudge_due_later_today_reads_as_today_and_in_minutes(database_url: str) -> None:
    """Thursday, five minutes before #cop-organisational-learning's 14:00 nudge: the jump is
    minutes, not days (the test that once failed on a Thursday)."""
    with Sandbox(
        Settings(database_url=database_url), port=0, example=False, start_at=THURSDAY_BEFORE_NUDGE
    ) as sandbox:
        state = _state(sandbox, SARAH)
        assert state["clock"]["text"] == "Thu 7 Jan 2027, 13:55"
        assert state["jobs"][0] == {
            "kind": "nudge",
            "at": "2027-01-07T14:00:00+00:00",
            "label": "Weekly nudge in #cop-organisational-learning",
            "when": "today, 14:00",
        }
        status, answer = _post(sandbox, "/sandbox/run-job", {"user": ALEX})
        assert status == 200 and answer["ok"], answer
        assert answer["ran"] == "Weekly nudge in #cop-organisational-learning"
        assert answer["report"] == ["Nudge sent to #cop-organisational-learning."]
        assert answer["clock"]["text"] == "Thu 7 Jan 2027, 14:00"
        assert answer["clock"]["ahead"] == "+5 minutes"
        sandbox.fake.wait_until(
            lambda: sandbox.fake.messages("C0COPOL"), timeout=10, message="the nudge"
        )


def test_the_clock_runs_on_from_where_it_was_started(database_url: str) -> None:
    with Sandbox(
        Settings(database_url=database_url), port=0, example=False, start_at=MONDAY_NOON
    ) as sandbox:
        assert sandbox.clock is not None
        first = sandbox.clock.now()
        assert timedelta(0) <= first - MONDAY_NOON < timedelta(minutes=1)
        assert sandbox.clock.now() >= first  # it runs at the real pace from there
    with pytest.raises(ValueError, match="time zone"):
        Sandbox(Settings(database_url=database_url), start_at=datetime(2027, 1, 4, 12, 0))


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(0), ""),
        (timedelta(seconds=20), ""),
        (timedelta(minutes=1), "+1 minute"),
        (timedelta(minutes=4, seconds=50), "+5 minutes"),
        (timedelta(minutes=89), "+89 minutes"),
        (timedelta(hours=4, minutes=4), "+4 hours"),
        (timedelta(hours=47), "+47 hours"),
        (timedelta(days=6, hours=22), "+6.9 days"),
        (timedelta(days=7), "+7 days"),
    ],
)
def test_how_far_the_clock_has_moved_is_said_in_the_unit_that_reads_best(
    offset: timedelta, shown: str
) -> None:
    assert ahead_text(offset) == shown


def test_files_the_bot_uploads_can_be_downloaded_from_the_page(sandbox: Sandbox) -> None:
    fake = sandbox.fake
    _post(
        sandbox, "/sandbox/command", {"user": ALEX, "channel": MARKET, "text": "/km-admin export"}
    )
    fake.wait_until(lambda: len(fake.files()) >= 4, timeout=20, message="the four CSV exports")
    dm = fake.wait_until(lambda: [m for m in fake.dms(ALEX) if m.files], timeout=10)[0].channel
    messages = _state(sandbox, ALEX, dm)["conversation"]["messages"]
    shown = [f for m in messages for f in m.get("files", [])]
    for kind in ("posts", "introductions", "outcomes", "councils"):
        assert any(f["name"].endswith(f"-{kind}.csv") for f in shown), (kind, shown)
    posts = next(f for f in shown if f["name"].endswith("-posts.csv"))
    with urllib.request.urlopen(f"http://127.0.0.1:{fake.port}{posts['url']}", timeout=10) as r:
        body = r.read().decode("utf-8-sig")
    assert body.splitlines()[0].startswith("id,kind,status,area")
