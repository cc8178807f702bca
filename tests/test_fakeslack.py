"""The fake Slack Web API server, driven by the real slack_sdk clients."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from urllib.error import URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.devtools.fakeslack import FAULT_KINDS, Call, FakeSlack, Request, Response

TS = re.compile(r"^\d{10}\.\d{6}$")
CONNECTION_ERRORS = (URLError, ConnectionError, TimeoutError, OSError)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        server.add_user("UALICE", name="alice", email="alice@leeds.gov.uk", real_name="Alice Smith")
        server.add_user("UBOB", name="bob", email="Bob@Kent.gov.uk", is_admin=True)
        server.add_channel("CMARKET", "marketplace")
        yield server
        assert server.errors == [], "the fake Slack itself failed"


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    # No retry handlers: each call is exactly one HTTP request, so faults are visible.
    return WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# --------------------------------------------------------------------------- basics


def test_url_is_an_ephemeral_loopback_port(fake: FakeSlack) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", fake.url)
    assert fake.url == fake.origin + "/api/"
    assert fake.port != 0


def test_auth_test_names_the_bot(client: WebClient) -> None:
    response = client.auth_test()
    assert response["user_id"] == "UKMBOT"
    assert response["team_id"] == "T0KMBOT"
    assert response["bot_id"].startswith("B")


def test_bad_and_missing_tokens_are_refused(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token="xoxb-wrong", base_url=fake.url).chat_postMessage(channel="C1", text="x")
    assert error_of(excinfo) == "invalid_auth"
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=fake.url).auth_test()
    assert error_of(excinfo) == "not_authed"
    assert excinfo.value.response.status_code == 200
    assert fake.messages("C1") == []
    assert [c.outcome for c in fake.calls] == ["error", "error"]


def test_token_may_come_as_a_form_parameter(fake: FakeSlack) -> None:
    body = b"token=xoxb-test&channel=CMARKET&text=form+post"
    request = urllib.request.Request(fake.url + "chat.postMessage", data=body, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response)["ok"] is True
    assert fake.messages("CMARKET")[0].text == "form post"


def test_unknown_method_is_answered_and_recorded(client: WebClient, fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.teleport", json={"channel": "C1"})
    assert error_of(excinfo) == "unknown_method"
    assert fake.calls_to("chat.teleport")[0].params == {"channel": "C1"}


# ------------------------------------------------------------------------ messages


def test_post_message_is_stored_and_recorded(client: WebClient, fake: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Want*"}}]
    first = client.chat_postMessage(channel="CMARKET", text="Want: a KM strategy", blocks=blocks)
    second = client.chat_postMessage(channel="CMARKET", text="Offer: a taxonomy")

    assert TS.match(first["ts"]) and TS.match(second["ts"])
    assert float(second["ts"]) > float(first["ts"])
    messages = fake.messages("CMARKET")
    assert [m.text for m in messages] == ["Want: a KM strategy", "Offer: a taxonomy"]
    assert messages[0].blocks == blocks
    assert messages[0].user == "UKMBOT"
    assert fake.messages("#marketplace") == messages  # by name too
    call = fake.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert (call.status, call.outcome, call.applied) == (200, "ok", True)
    assert call.response is not None and call.response["ts"] == first["ts"]


def test_blocks_and_metadata_may_be_json_strings_in_a_form(
    client: WebClient, fake: FakeSlack
) -> None:
    blocks = [{"type": "divider"}]
    metadata = {"event_type": "want_posted", "event_payload": {"want_id": 7}}
    client.api_call(
        "chat.postMessage",
        params={
            "channel": "CMARKET",
            "blocks": json.dumps(blocks),
            "metadata": json.dumps(metadata),
        },
    )
    message = fake.messages("CMARKET")[0]
    assert (message.blocks, message.metadata, message.text) == (blocks, metadata, "")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "CMARKET"}, "no_text"),
        ({"channel": "CMARKET", "text": "x", "blocks": "not json"}, "invalid_blocks_format"),
        ({"channel": "CMARKET", "blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"channel": "CMARKET", "text": "x", "metadata": {"x": 1}}, "invalid_metadata_format"),
        ({"channel": "CMARKET", "text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
        ({"channel": "DNOBODY", "text": "x"}, "channel_not_found"),
    ],
)
def test_post_message_errors(
    client: WebClient, fake: FakeSlack, arguments: dict[str, object], error: str
) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.postMessage", json=arguments)
    assert error_of(excinfo) == error
    assert fake.messages("CMARKET") == []


def test_channels_must_exist_without_auto_channels() -> None:
    with FakeSlack(auto_channels=False) as fake:
        client = WebClient(token=fake.bot_token, base_url=fake.url)
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="CUNKNOWN", text="x")
        assert error_of(excinfo) == "channel_not_found"
        fake.add_channel("CKNOWN", "known")
        assert client.chat_postMessage(channel="#known", text="x")["channel"] == "CKNOWN"


def test_auto_channels_creates_channels_on_first_use(client: WebClient, fake: FakeSlack) -> None:
    assert client.chat_postMessage(channel="CNEW", text="x")["channel"] == "CNEW"
    by_name = client.chat_postMessage(channel="#km-cop-im", text="y")["channel"]
    assert by_name.startswith("C")
    assert client.conversations_info(channel=by_name)["channel"]["name"] == "km-cop-im"


def test_bot_outside_a_channel_must_join_first(client: WebClient, fake: FakeSlack) -> None:
    fake.add_channel("CCOP", "cop-customer-focus", is_member=False)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="CCOP", text="Weekly prompt")
    assert error_of(excinfo) == "not_in_channel"
    assert client.conversations_join(channel="CCOP")["channel"]["is_member"] is True
    client.chat_postMessage(channel="CCOP", text="Weekly prompt")
    assert [m.text for m in fake.messages("CCOP")] == ["Weekly prompt"]


def test_thread_replies(client: WebClient, fake: FakeSlack) -> None:
    card = client.chat_postMessage(channel="CMARKET", text="Want card")["ts"]
    client.chat_postMessage(channel="CMARKET", thread_ts=card, text="Introduction 1")
    reply = client.chat_postMessage(channel="CMARKET", thread_ts=card, text="Introduction 2")
    # A reply to a reply lands in the parent's thread, as in Slack.
    client.chat_postMessage(channel="CMARKET", thread_ts=reply["ts"], text="Introduction 3")

    assert [m.text for m in fake.messages("CMARKET")] == ["Want card"]
    thread = fake.thread("CMARKET", card)
    assert [m.text for m in thread] == ["Introduction 1", "Introduction 2", "Introduction 3"]
    assert all(m.thread_ts == card for m in thread)
    assert fake.messages("CMARKET")[0].reply_count == 3

    replies = client.conversations_replies(channel="CMARKET", ts=card)["messages"]
    assert [m["text"] for m in replies] == ["Want card", *(m.text for m in thread)]
    assert replies[0]["reply_count"] == 3


def test_update_and_delete(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="CMARKET", text="Open want")["ts"]
    client.chat_update(channel="CMARKET", ts=ts, text="Fulfilled want")
    [message] = fake.messages("CMARKET")
    assert (message.text, message.edited) == ("Fulfilled want", True)

    client.chat_delete(channel="CMARKET", ts=ts)
    assert fake.messages("CMARKET") == []
    deleted = fake.message("CMARKET", ts)
    assert deleted is not None and deleted.deleted
    for call in (client.chat_update, client.chat_delete):
        with pytest.raises(SlackApiError) as excinfo:
            call(channel="CMARKET", ts=ts, text="again")
        assert error_of(excinfo) == "message_not_found"


def test_deleting_a_reply_lowers_the_reply_count(client: WebClient, fake: FakeSlack) -> None:
    card = client.chat_postMessage(channel="CMARKET", text="card")["ts"]
    reply = client.chat_postMessage(channel="CMARKET", thread_ts=card, text="intro")["ts"]
    client.chat_delete(channel="CMARKET", ts=reply)
    assert fake.thread("CMARKET", card) == []
    assert fake.messages("CMARKET")[0].reply_count == 0


def test_ephemeral(client: WebClient, fake: FakeSlack) -> None:
    response = client.chat_postEphemeral(channel="CMARKET", user="UALICE", text="Only you")
    assert TS.match(response["message_ts"])
    [ephemeral] = fake.ephemerals("UALICE")
    assert (ephemeral.channel, ephemeral.text, ephemeral.source) == (
        "CMARKET",
        "Only you",
        "chat.postEphemeral",
    )
    assert fake.ephemerals("UBOB") == []
    assert fake.messages("CMARKET") == []


def test_dm_by_user_id_and_conversations_open(client: WebClient, fake: FakeSlack) -> None:
    posted = client.chat_postMessage(channel="UALICE", text="Your want expires soon")
    opened = client.conversations_open(users="UALICE")["channel"]["id"]
    assert opened.startswith("D")
    assert posted["channel"] == opened
    assert client.conversations_open(users=["UALICE"])["already_open"] is True
    client.chat_postMessage(channel=opened, text="Still needed?")
    assert [m.text for m in fake.dms("UALICE")] == ["Your want expires soon", "Still needed?"]
    assert fake.dms("UBOB") == []
    info = client.conversations_info(channel=opened)["channel"]
    assert (info["is_im"], info["user"]) == (True, "UALICE")


def test_history_newest_first_with_metadata_only_on_request(
    client: WebClient, fake: FakeSlack
) -> None:
    metadata = {"event_type": "kmbot_card", "event_payload": {"kind": "want", "id": 1}}
    channel = client.conversations_open(users="UBOB")["channel"]["id"]
    for n in range(3):
        client.chat_postMessage(channel=channel, text=f"m{n}", metadata=metadata)

    plain = client.conversations_history(channel=channel)["messages"]
    assert [m["text"] for m in plain] == ["m2", "m1", "m0"]
    assert all("metadata" not in m for m in plain)

    rich = client.conversations_history(channel=channel, include_all_metadata=True)
    assert all(m["metadata"] == metadata for m in rich["messages"])

    first = client.conversations_history(channel=channel, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m2", "m1"] and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    rest = client.conversations_history(channel=channel, limit=2, cursor=cursor)
    assert [m["text"] for m in rest["messages"]] == ["m0"] and not rest["has_more"]

    oldest = plain[1]["ts"]
    newer = client.conversations_history(channel=channel, oldest=oldest)["messages"]
    assert [m["text"] for m in newer] == ["m2"]


def test_permalink_and_reactions(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="CMARKET", text="card")["ts"]
    link = client.chat_getPermalink(channel="CMARKET", message_ts=ts)["permalink"]
    assert link == f"{fake.origin}/archives/CMARKET/p{ts.replace('.', '')}"
    client.reactions_add(channel="CMARKET", timestamp=ts, name="white_check_mark")
    with pytest.raises(SlackApiError) as excinfo:
        client.reactions_add(channel="CMARKET", timestamp=ts, name="white_check_mark")
    assert error_of(excinfo) == "already_reacted"
    assert fake.messages("CMARKET")[0].reactions == {"white_check_mark": ["UKMBOT"]}


# --------------------------------------------------------------------------- users


def test_users_info_profile_and_lookup(client: WebClient) -> None:
    user = client.users_info(user="UALICE")["user"]
    assert (user["name"], user["real_name"], user["profile"]["email"]) == (
        "alice",
        "Alice Smith",
        "alice@leeds.gov.uk",
    )
    assert client.users_info(user="UBOB")["user"]["is_admin"] is True
    assert client.users_profile_get(user="UALICE")["profile"]["display_name"] == "alice"
    assert client.users_lookupByEmail(email="bob@kent.gov.uk")["user"]["id"] == "UBOB"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="UNOBODY")
    assert error_of(excinfo) == "user_not_found"
    with pytest.raises(SlackApiError) as excinfo:
        client.users_lookupByEmail(email="nobody@example.org")
    assert error_of(excinfo) == "users_not_found"


# --------------------------------------------------------------------------- views

MODAL = {
    "type": "modal",
    "callback_id": "want_modal",
    "title": {"type": "plain_text", "text": "Post a want"},
    "blocks": [
        {
            "type": "input",
            "block_id": "text",
            "label": {"type": "plain_text", "text": "What does your council need?"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}


def test_views_open_update_push_and_publish(client: WebClient, fake: FakeSlack) -> None:
    view = client.views_open(trigger_id="1.2.abc", view=MODAL)["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "want_modal"
    updated = client.views_update(
        view_id=view["id"], hash=view["hash"], view={**MODAL, "private_metadata": "42"}
    )["view"]
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id=view["id"], hash=view["hash"], view=MODAL)
    assert error_of(excinfo) == "hash_conflict"
    pushed = client.views_push(trigger_id="1.2.def", view=MODAL)["view"]
    assert [v["id"] for v in fake.views_opened()] == [view["id"], pushed["id"]]
    assert fake.views_opened()[0]["private_metadata"] == updated["private_metadata"] == "42"

    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    client.views_publish(user_id="UALICE", view=home)
    assert fake.home_view("UALICE") is not None
    assert fake.home_view("UALICE")["blocks"] == home["blocks"]  # type: ignore[index]
    assert fake.home_view("UBOB") is None
    assert len(fake.views_opened()) == 2


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"view": MODAL}, "invalid_arguments"),  # no trigger_id
        ({"trigger_id": "t", "view": {**MODAL, "type": "home"}}, "invalid_arguments"),
        (
            {
                "trigger_id": "t",
                "view": {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}},
            },
            "invalid_arguments",
        ),
    ],
)
def test_views_open_errors(client: WebClient, arguments: dict[str, object], error: str) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("views.open", json=arguments)
    assert error_of(excinfo) == error


def test_issued_trigger_ids_work_once_and_expire(client: WebClient, fake: FakeSlack) -> None:
    trigger = fake.new_trigger_id(user="UALICE")
    client.views_open(trigger_id=trigger, view=MODAL)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger, view=MODAL)
    assert error_of(excinfo) == "exchanged_trigger_id"
    expired = fake.new_trigger_id(ttl=0.0)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=expired, view=MODAL)
    assert error_of(excinfo) == "expired_trigger_id"


# --------------------------------------------------------------------------- files


def test_files_upload_v2_round_trip(client: WebClient, fake: FakeSlack) -> None:
    content = b"council,name\r\nLeeds,Alice\r\n\x00\xff binary-safe"
    ts = client.chat_postMessage(channel="CMARKET", text="card")["ts"]
    response = client.files_upload_v2(
        channel="CMARKET",
        content=content,
        filename="export.csv",
        title="Marketplace export",
        initial_comment="Here is the export",
        thread_ts=ts,
    )
    assert response["file"]["name"] == "export.csv"
    [uploaded] = fake.files()
    assert uploaded.content == content
    assert (uploaded.filename, uploaded.title, uploaded.channels) == (
        "export.csv",
        "Marketplace export",
        ["CMARKET"],
    )
    assert (uploaded.initial_comment, uploaded.user, uploaded.thread_ts) == (
        "Here is the export",
        "UKMBOT",
        ts,
    )
    [share] = fake.thread("CMARKET", ts)
    assert (share.text, share.files) == ("Here is the export", [uploaded.id])
    methods = [c.method for c in fake.calls]
    assert methods[-3:] == [
        "files.getUploadURLExternal",
        "upload_url",
        "files.completeUploadExternal",
    ]
    with urllib.request.urlopen(response["file"]["url_private"], timeout=5) as download:
        assert download.read() == content


def test_upload_without_a_channel_stays_private(client: WebClient, fake: FakeSlack) -> None:
    client.files_upload_v2(content="a,b\n", filename="x.csv")
    assert fake.files()[0].channels == []
    assert fake.messages("CMARKET") == []


def test_complete_upload_needs_the_bytes(client: WebClient, fake: FakeSlack) -> None:
    file_id = client.files_getUploadURLExternal(filename="x.csv", length=3)["file_id"]
    with pytest.raises(SlackApiError) as excinfo:
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id="CMARKET")
    assert error_of(excinfo) == "file_not_found"
    assert fake.files() == []


def test_legacy_files_upload(client: WebClient, fake: FakeSlack) -> None:
    with pytest.warns(UserWarning):
        client.files_upload(channels="CMARKET", file=b"\x00\r\nraw", filename="r.bin", title="R")
    [uploaded] = fake.files()
    assert (uploaded.content, uploaded.title, uploaded.channels) == (
        b"\x00\r\nraw",
        "R",
        ["CMARKET"],
    )


# --------------------------------------------------------------------- response_url


def test_response_url_defaults_to_an_ephemeral(fake: FakeSlack) -> None:
    url = fake.new_response_url(user="UALICE", channel="CMARKET")
    assert url.startswith(fake.origin + "/response/")
    response = WebhookClient(url).send(text="You have 5 open wants")
    assert response.status_code == 200
    [ephemeral] = fake.ephemerals("UALICE")
    assert (ephemeral.text, ephemeral.source, ephemeral.channel) == (
        "You have 5 open wants",
        "response_url",
        "CMARKET",
    )
    [call] = fake.calls_to("response_url")
    assert call.params["text"] == "You have 5 open wants" and call.outcome == "ok"


def test_response_url_in_channel(fake: FakeSlack) -> None:
    url = fake.new_response_url(user="UALICE", channel="CMARKET")
    WebhookClient(url).send(text="Posted for everyone", response_type="in_channel")
    assert [m.text for m in fake.messages("CMARKET")] == ["Posted for everyone"]
    assert fake.ephemerals() == []


def test_response_url_replaces_and_deletes_the_original(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="CMARKET", text="Intro: [Useful] [Not a fit]")["ts"]
    url = fake.new_response_url(user="UALICE", channel="CMARKET", message_ts=ts)
    WebhookClient(url).send(text="Intro: confirmed useful", replace_original=True)
    [message] = fake.messages("CMARKET")
    assert (message.ts, message.text, message.edited) == (ts, "Intro: confirmed useful", True)
    WebhookClient(url).send_dict({"delete_original": True})
    assert fake.messages("CMARKET") == []


def test_response_url_replaces_an_ephemeral(client: WebClient, fake: FakeSlack) -> None:
    ts = client.chat_postEphemeral(channel="CMARKET", user="UALICE", text="Close one?")
    url = fake.new_response_url(user="UALICE", channel="CMARKET", message_ts=ts["message_ts"])
    WebhookClient(url).send(text="Closed", replace_original=True)
    [ephemeral] = fake.ephemerals("UALICE")
    assert (ephemeral.text, ephemeral.replaced) == ("Closed", True)


def test_response_url_limits(fake: FakeSlack) -> None:
    url = fake.new_response_url(user="UALICE", channel="CMARKET", max_uses=1)
    assert WebhookClient(url).send(text="one").status_code == 200
    assert WebhookClient(url).send(text="two").status_code == 404
    assert WebhookClient(fake.origin + "/response/nope").send(text="x").status_code == 404
    assert [e.text for e in fake.ephemerals()] == ["one"]


# -------------------------------------------------------------------- recording


def test_wait_for_sees_calls_from_other_threads(client: WebClient, fake: FakeSlack) -> None:
    worker = threading.Thread(
        target=lambda: [client.chat_postMessage(channel="CMARKET", text=f"{n}") for n in range(3)]
    )
    worker.start()
    calls = fake.wait_for("chat.postMessage", count=3, timeout=5)
    worker.join()
    assert len(calls) == 3
    assert fake.wait_for("chat.postMessage", where=lambda c: c.params["text"] == "2")[0].applied


def test_wait_for_times_out_with_what_was_recorded(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"chat\.update.*auth\.test"):
        fake.wait_for("chat.update", timeout=0.2)


def test_wait_until_a_state_condition(client: WebClient, fake: FakeSlack) -> None:
    timer = threading.Timer(0.05, lambda: client.chat_postMessage(channel="CMARKET", text="x"))
    timer.start()
    assert fake.wait_until(lambda: fake.messages("CMARKET"), timeout=5)[0].text == "x"
    timer.join()


def test_reset_keeps_users_and_channels(client: WebClient, fake: FakeSlack) -> None:
    client.chat_postMessage(channel="CMARKET", text="x")
    fake.set_faults(rate=1.0, kinds=["server_error"])
    fake.reset()
    assert fake.calls == [] and fake.messages("CMARKET") == []
    client.chat_postMessage(channel="#marketplace", text="after reset")  # no faults left
    assert client.users_info(user="UALICE")["ok"]


def test_add_route_and_add_method_extend_the_server(client: WebClient, fake: FakeSlack) -> None:
    def sandbox_page(request: Request) -> Response:
        return Response.text(f"messages: {len(fake.messages(request.path_params['channel']))}")

    fake.add_route("GET", "/sandbox/{channel}", sandbox_page)
    fake.add_method("team.info", lambda params, actor: {"team": {"id": "T0KMBOT"}})
    client.chat_postMessage(channel="CMARKET", text="x")
    with urllib.request.urlopen(fake.origin + "/sandbox/CMARKET", timeout=5) as page:
        assert page.read() == b"messages: 1"
    assert client.team_info()["team"]["id"] == "T0KMBOT"


# ------------------------------------------------------------------------- faults


def test_rate_limited_surfaces_as_429_with_retry_after(client: WebClient, fake: FakeSlack) -> None:
    fake.set_faults(rate=1.0, kinds=["rate_limited"], retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="CMARKET", text="card")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert error_of(excinfo) == "ratelimited"
    assert fake.messages("CMARKET") == []
    [call] = fake.calls
    assert (call.status, call.outcome, call.applied) == (429, "rate_limited", False)
    assert fake.faults_injected == {"rate_limited": 1}


def test_server_error_applies_nothing(client: WebClient, fake: FakeSlack) -> None:
    fake.set_faults(rate=1.0, kinds=["server_error"])
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="CMARKET", text="card")
    assert excinfo.value.response.status_code == 500
    assert fake.messages("CMARKET") == []


def test_drop_before_applies_nothing(client: WebClient, fake: FakeSlack) -> None:
    fake.set_faults(rate=1.0, kinds=["drop_before"])
    with pytest.raises(CONNECTION_ERRORS):
        client.chat_postMessage(channel="CMARKET", text="card")
    assert fake.messages("CMARKET") == []
    assert fake.calls[0].status == 0 and not fake.calls[0].applied


def test_drop_after_applies_but_the_client_raises(client: WebClient, fake: FakeSlack) -> None:
    fake.set_faults(rate=1.0, kinds=["drop_after"])
    with pytest.raises(CONNECTION_ERRORS):
        client.chat_postMessage(channel="CMARKET", text="card")
    assert [m.text for m in fake.messages("CMARKET")] == ["card"]
    [call] = fake.calls
    assert (call.status, call.outcome, call.applied) == (0, "drop_after", True)


def test_sdk_default_retry_duplicates_after_drop_after(fake: FakeSlack) -> None:
    """The ambiguous case: slack_sdk's own connection retry posts the message twice."""
    fake.set_faults(rate=1.0, kinds=["drop_after"], max_faults=1)
    WebClient(token=fake.bot_token, base_url=fake.url).chat_postMessage(channel="C1", text="x")
    assert [m.text for m in fake.messages("C1")] == ["x", "x"]


def test_slow_applies_and_times_out_without_blocking_others(fake: FakeSlack) -> None:
    fake.set_faults(rate=1.0, kinds=["slow"], slow_seconds=2.0)
    impatient = WebClient(
        token=fake.bot_token,
        base_url=fake.url,
        timeout=0.5,  # type: ignore[arg-type]  # slack_sdk hints int; urllib takes a float
        retry_handlers=[],
    )
    started = time.monotonic()
    with pytest.raises(CONNECTION_ERRORS):
        impatient.chat_postMessage(channel="CMARKET", text="card")
    assert time.monotonic() - started < 1.5
    assert [m.text for m in fake.messages("CMARKET")] == ["card"]
    assert fake.calls_to("chat.postMessage")[0].outcome == "slow"
    # Reads are not faulted by default, and the slow request does not hold up the server.
    quick = WebClient(token=fake.bot_token, base_url=fake.url, timeout=1)
    assert quick.conversations_history(channel="CMARKET")["messages"][0]["text"] == "card"


def test_stop_does_not_wait_for_a_slow_request() -> None:
    fake = FakeSlack().start()
    fake.set_faults(rate=1.0, kinds=["slow"], slow_seconds=60)
    client = WebClient(token=fake.bot_token, base_url=fake.url, timeout=30, retry_handlers=[])
    errors: list[BaseException] = []

    def post() -> None:
        try:
            client.chat_postMessage(channel="C1", text="x")
        except BaseException as exc:  # noqa: BLE001 - recorded for the assertion below
            errors.append(exc)

    worker = threading.Thread(target=post)
    worker.start()
    fake.wait_for("chat.postMessage")
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 2
    worker.join(timeout=5)
    assert not worker.is_alive() and len(errors) == 1


def test_only_the_chosen_methods_are_faulted(client: WebClient, fake: FakeSlack) -> None:
    fake.set_faults(rate=1.0, kinds=["server_error"], methods={"chat.update"})
    ts = client.chat_postMessage(channel="CMARKET", text="card")["ts"]
    with pytest.raises(SlackApiError):
        client.chat_update(channel="CMARKET", ts=ts, text="changed")
    fake.clear_faults()
    client.chat_update(channel="CMARKET", ts=ts, text="changed")
    assert fake.messages("CMARKET")[0].text == "changed"


def test_faults_on_response_urls(fake: FakeSlack) -> None:
    url = fake.new_response_url(user="UALICE", channel="CMARKET")
    for _ in range(2):  # each plan has its own budget of max_faults
        fake.set_faults(rate=1.0, kinds=["server_error"], max_faults=1)
        assert WebhookClient(url).send(text="lost").status_code == 500
        assert WebhookClient(url).send(text="kept").status_code == 200
    assert [e.text for e in fake.ephemerals()] == ["kept", "kept"]
    assert fake.faults_injected == {"server_error": 2}


def run_faulted_posts(seed: int, n: int = 300) -> tuple[list[str], FakeSlack]:
    with FakeSlack() as fake:
        fake.set_faults(rate=0.2, seed=seed, slow_seconds=0.01)
        client = WebClient(token=fake.bot_token, base_url=fake.url, retry_handlers=[])
        for n_call in range(n):
            try:
                client.chat_postMessage(channel="C1", text=str(n_call))
            except (SlackApiError, *CONNECTION_ERRORS):
                pass
        return [c.outcome for c in fake.calls], fake


def test_seeded_fault_rate_is_roughly_honoured_and_repeatable() -> None:
    outcomes, fake = run_faulted_posts(seed=11)
    faulted = sum(fake.faults_injected.values())
    assert len(outcomes) == 300
    assert 35 <= faulted <= 85  # 20 % of 300 is 60
    assert set(fake.faults_injected) == set(FAULT_KINDS)
    applied = {"ok", "slow", "drop_after"}
    assert len(fake.messages("C1")) == sum(o in applied for o in outcomes)
    again, _ = run_faulted_posts(seed=11)
    assert again == outcomes


def test_invalid_fault_settings_are_refused(fake: FakeSlack) -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        fake.set_faults(rate=0.5, kinds=["meteor_strike"])
    with pytest.raises(ValueError):
        fake.set_faults(rate=1.5)


def test_calls_are_records(client: WebClient, fake: FakeSlack) -> None:
    client.auth_test()
    [call] = fake.calls
    assert isinstance(call, Call) and call.at <= time.time() and call.error is None
