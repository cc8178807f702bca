"""Scenario: /km-admin through the real Bolt app against the fake Slack."""

from __future__ import annotations

import csv
import io
import struct
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from admin_kit import FACILITATOR, admin, facilitated_slack
from slackkit import SlackDriver, validate_blocks

from bot.devtools.fakeslack import FakeSlack
from bot.kernel.settings import Settings
from bot.services import audit
from storage.models import AuditEntry, Member, Role

MARKET = "C0MARKET"

COP = "C0IMCOP"


@pytest.fixture
def admin_slack(settings: Settings, fake_slack: FakeSlack) -> Iterator[SlackDriver]:
    """The app with one facilitator configured through KMBOT_FACILITATORS."""
    with facilitated_slack(settings, fake_slack) as driver:
        yield driver


@pytest.fixture
def pg_admin_slack(
    database_url: str, settings: Settings, fake_slack: FakeSlack
) -> Iterator[SlackDriver]:
    """As ``admin_slack``, on both database engines."""
    with facilitated_slack(settings, fake_slack, database_url=database_url) as driver:
        yield driver


def audit_entries(slack: SlackDriver, action: str) -> list[AuditEntry]:
    with slack.services.session_factory() as session:
        entries = audit.list_entries(session, limit=100, action=action)
        session.expunge_all()
        return entries


def members(slack: SlackDriver) -> tuple[str, str]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    return devon, lewisham


# ---------------------------------------------------------------- who may use it


def test_someone_who_is_not_a_facilitator_is_refused_politely_and_it_is_logged(
    admin_slack: SlackDriver, caplog: pytest.LogCaptureFixture
) -> None:
    devon, _ = members(admin_slack)
    with caplog.at_level("WARNING", logger="bot.services.admin.facilitators"):
        reply = admin(admin_slack, "export", user=devon)
    assert "only for the network's facilitators" in reply
    assert f"<@{FACILITATOR}>" in reply, "they are told whom to ask"
    assert admin_slack.fake.files() == [], "nothing was exported"
    assert any(
        "Refused /km-admin" in r.getMessage() and devon in r.getMessage() for r in caplog.records
    )
    refused = audit_entries(admin_slack, "refused")
    assert [(e.actor, e.target) for e in refused] == [(devon, "/km-admin export")]


def test_the_configured_facilitator_is_stored_with_no_council(admin_slack: SlackDriver) -> None:
    with admin_slack.services.session_factory() as session:
        stored = session.query(Member).filter(Member.slack_user_id == FACILITATOR).one()
        assert (stored.role, stored.council_id) == (Role.FACILITATOR, None)
    bootstrap = audit_entries(admin_slack, "facilitator.add")
    assert [(e.actor, e.target) for e in bootstrap] == [("settings", FACILITATOR)]


# ---------------------------------------------------------------- help


def test_help_for_everything_and_for_each_group(admin_slack: SlackDriver) -> None:
    overview = admin(admin_slack, "")
    assert "facilitators" in overview and "communities" in overview and "audit" in overview
    assert admin(admin_slack, "help") == overview
    for group, expected in [
        ("facilitators", "facilitators add @someone"),
        ("councils", "councils merge <duplicate> into <council>"),
        ("moderation", "remove <post number> <reason>"),
        ("introduce", "introduce <want number> <offer number>"),
        ("communities", "communities add #channel <area> <day> <time>"),
        ("prompts", "prompts add [area] <text>"),
        ("stats", "days saved"),
        ("export", "CSV"),
        ("report", "PNG"),
        ("audit", "audit [how many]"),
    ]:
        reply = admin(admin_slack, f"{group} help")
        assert expected.replace("<", "&lt;").replace(">", "&gt;") in reply or expected in reply
        assert admin(admin_slack, f"help {group}") == reply
    unknown = admin(admin_slack, "frobnicate <!channel>")
    assert "I don't know `/km-admin frobnicate`" in unknown and "councils" in unknown
    wrong = admin(admin_slack, "councils delete Devon")
    assert "I don't know `/km-admin councils delete`" in wrong and "councils rename" in wrong


# ---------------------------------------------------------------- facilitators


def test_facilitators_add_list_and_remove(admin_slack: SlackDriver) -> None:
    devon, _ = members(admin_slack)
    assert "is now a facilitator" in admin(admin_slack, f"facilitators add <@{devon}|jo>")
    listed = admin(admin_slack, "facilitators list")
    assert f"<@{FACILITATOR}>" in listed and f"<@{devon}>" in listed
    assert "Sorry" not in admin(admin_slack, "stats", user=devon), "the new one may use it"
    assert "already a facilitator" in admin(admin_slack, f"facilitators add {devon}")

    assert "no longer a facilitator" in admin(admin_slack, f"facilitators remove <@{devon}>")
    assert "only for the network's facilitators" in admin(admin_slack, "stats", user=devon)
    kept = admin(admin_slack, f"facilitators remove <@{FACILITATOR}>")
    assert "KMBOT_FACILITATORS" in kept
    assert "is not a Slack user" in admin(admin_slack, "facilitators add bob")
    assert "Copy member ID" in admin(admin_slack, "facilitators add @jo.bloggs")
    assert "Who?" in admin(admin_slack, "facilitators add")

    changes = audit_entries(admin_slack, "facilitator.")
    removal = next(e for e in changes if e.action == "facilitator.remove")
    assert (removal.actor, removal.target) == (FACILITATOR, devon)
    assert removal.before == {"slack_user_id": devon, "role": "facilitator"}
    assert removal.after == {"slack_user_id": devon, "role": "practitioner"}


# ---------------------------------------------------------------- councils


def test_councils_add_rename_and_merge(admin_slack: SlackDriver) -> None:
    slack = admin_slack
    added = admin(slack, "councils add Newtown Town Council in South West")
    assert "Added *Newtown Town Council*" in added and "in South West" in added
    assert "already known as *Devon County Council*" in admin(
        slack, "councils add Devon County Council"
    )
    renamed = admin(slack, "councils rename Newtown Town Council to Newtown & District Council")
    assert "now called *Newtown &amp; District Council*" in renamed

    # Someone joins the record for the renamed council and posts: a merge moves both.
    user = slack.user("U0NEWT", "Nia Jones", None)
    slack.slash(user, "/km", "join Newtown & District Council")
    slack.settle()
    slack.slash(user, "/want", "Help with our records retention schedule")
    slack.settle()
    merged = admin(slack, "councils merge Newtown & District Council into Wiltshire Council")
    assert "Merged into *Wiltshire Council*: 1 member(s) and 1 post(s) moved across." in merged
    reply = admin(slack, "councils merge Newtown & District Council into Wiltshire Council")
    assert "Those are the same record" in reply or "already merged" in reply
    assert "can't find a council" in admin(slack, "councils rename Atlantis to Lyonesse")
    assert "Rename to what?" in admin(slack, "councils rename Devon County Council")

    with slack.services.session_factory() as session:
        member = session.query(Member).filter(Member.slack_user_id == user).one()
        assert member.council is not None and member.council.name == "Wiltshire Council"
    rename = audit_entries(slack, "council.rename")[0]
    assert rename.before["name"] == "Newtown Town Council"  # type: ignore[index]
    assert rename.after["name"] == "Newtown & District Council"  # type: ignore[index]
    merge = audit_entries(slack, "council.merge")[0]
    assert merge.after["members_moved"] == 1 and merge.after["posts_moved"] == 1  # type: ignore[index]
    assert merge.before["duplicate"]["merged_into_id"] is None  # type: ignore[index]


# ---------------------------------------------------------------- moderation


def test_removing_a_post_tells_its_author_why_and_restoring_puts_it_back(
    admin_slack: SlackDriver,
) -> None:
    slack = admin_slack
    devon, _ = members(slack)
    slack.slash(devon, "/want", "Help with <!channel> an information asset register")
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    dms_before = len(slack.fake.dms(devon))

    assert "Please give a reason" in admin(slack, "remove 1")
    assert "There is no post #99" in admin(slack, "remove 99 spam")
    assert "Which post?" in admin(slack, "remove first one please")
    reply = admin(slack, "remove 1 It names a member of the public <b>")
    assert "Removed *Want #1*" in reply and "author has been told why" in reply

    notice = slack.fake.dms(devon)[dms_before]
    validate_blocks(notice.blocks)
    assert "removed your *Want #1*" in notice.text
    assert "It names a member of the public &lt;b&gt;" in notice.text
    assert f"<@{FACILITATOR}>" in notice.text
    assert "<!channel>" not in notice.text
    updated = slack.fake.message(MARKET, card.ts)
    assert updated is not None and "was removed by a facilitator" in str(updated.blocks)
    assert "already been removed" in admin(slack, "remove 1 again")

    restored = admin(slack, "restore 1")
    assert "Restored *Want #1*; it is open again." in restored
    assert "back in the marketplace" in slack.fake.dms(devon)[-1].text
    updated = slack.fake.message(MARKET, card.ts)
    assert updated is not None and "I can help" in str(updated.blocks)
    assert "has not been removed" in admin(slack, "restore 1")

    removal = audit_entries(slack, "post.remove")[0]
    restore = audit_entries(slack, "post.restore")[0]
    assert removal.target == "Want #1" and removal.actor == FACILITATOR
    assert removal.before == {
        "status": "open",
        "removed_reason": None,
        "status_before_removal": None,
    }
    assert removal.after == {
        "status": "removed",
        "removed_reason": "It names a member of the public <b>",
        "status_before_removal": "open",
    }
    assert restore.after == {
        "status": "open",
        "removed_reason": None,
        "status_before_removal": None,
    }


def test_a_removed_post_is_no_longer_matched(admin_slack: SlackDriver) -> None:
    slack = admin_slack
    devon, lewisham = members(slack)
    slack.slash(devon, "/offer", "Our information asset register (IAR) template and guidance")
    slack.settle()
    admin(slack, "remove 1 duplicate")
    slack.slash(lewisham, "/want", "Help setting up an IAR - information asset register")
    slack.settle()
    want_card = slack.fake.messages(MARKET)[1]
    assert slack.fake.thread(MARKET, want_card.ts) == [], "no introduction to a removed offer"


# ---------------------------------------------------------------- manual introductions


def test_a_facilitator_introduces_a_want_and_an_offer(admin_slack: SlackDriver) -> None:
    slack = admin_slack
    devon, lewisham = members(slack)
    slack.slash(devon, "/offer", "Podcast equipment we can lend")
    slack.settle()
    slack.slash(lewisham, "/want", "Ideas for our staff awards ceremony")
    slack.settle()
    want_card = slack.fake.messages(MARKET)[1]
    assert slack.fake.thread(MARKET, want_card.ts) == []

    reply = admin(slack, "introduce 1 2")  # offer first: the order does not matter
    assert "Introduced want #2 and offer #1" in reply
    thread = slack.fake.thread(MARKET, want_card.ts)
    assert len(thread) == 1
    validate_blocks(thread[0].blocks)
    assert "<@U0DEVON>" in str(thread[0].blocks) and "<@U0LEWIS>" in str(thread[0].blocks)
    assert "already been introduced" in admin(slack, "introduce 2 1")
    assert "Give a want's number and an offer's" in admin(slack, "introduce 2")
    assert "both offers" in admin(slack, "introduce 1 1")
    entry = audit_entries(slack, "introduction.manual")[0]
    assert entry.after == {"want_id": 2, "offer_id": 1, "score": entry.after["score"]}  # type: ignore[index]


# ---------------------------------------------------------------- communities of practice


def test_communities_and_prompts(admin_slack: SlackDriver) -> None:
    slack = admin_slack
    slack.fake.add_channel(COP, "km-im-cop")
    assert "No communities of practice yet" in admin(slack, "communities list")
    assert "can't find the channel" in admin(slack, "communities add #no-such IM tue 10:00")
    assert "can't find the channel" in admin(slack, "communities add km-im-cop IM tue 10:00")
    assert "I don't know the day" in admin(
        slack, f"communities add <#{COP}|km-im-cop> IM someday 10:00"
    )
    assert "Give the channel, knowledge area, day and time" in admin(slack, "communities add")
    added = admin(slack, f"communities add <#{COP}|km-im-cop> IM Tuesday 10am")
    assert f"<#{COP}>" in added and "Tuesdays at 10:00" in added
    assert "Information Management" in added
    listed = admin(slack, "communities")
    assert "km-im-cop" in listed and "Tuesdays at 10:00" in listed

    again = admin(slack, "communities add #km-im-cop IM Wed 11:00")  # as typed, unescaped
    assert "already a community of practice" in again
    assert "Paused" in admin(slack, f"communities pause {COP}")
    assert "*paused*" in admin(slack, "communities list")
    assert "nudged weekly again" in admin(slack, "communities resume #km-im-cop")

    prompt = admin(slack, "prompts add IM What is one record your team could stop keeping?")
    assert "Added prompt #" in prompt and "(IM)" in prompt
    prompt_id = int(prompt.split("#")[1].split()[0])
    assert "What is one record your team could stop keeping?" in admin(slack, "prompts list IM")
    assert "too short" in admin(slack, "communities prompts add Hi")

    sent = admin(slack, f"communities nudge <#{COP}|km-im-cop>")
    assert "Sending the next nudge" in sent
    nudges = slack.fake.messages(COP)
    assert len(nudges) == 1
    validate_blocks(nudges[0].blocks)

    assert "out of the rotation" in admin(slack, f"prompts remove {prompt_id}")
    assert "no prompt" in admin(slack, f"prompts remove {prompt_id}")
    assert "no longer a community of practice" in admin(slack, f"communities remove {COP}")
    assert "There is no community of practice" in admin(slack, f"communities pause {COP}")

    actions = [e.action for e in reversed(audit_entries(slack, "community."))]
    assert actions == [
        "community.add",
        "community.pause",
        "community.resume",
        "community.nudge",
        "community.remove",
    ]
    pause = audit_entries(slack, "community.pause")[0]
    assert pause.before["paused"] is False and pause.after["paused"] is True  # type: ignore[index]
    assert [e.action for e in audit_entries(slack, "prompt.")] == ["prompt.remove", "prompt.add"]


# ---------------------------------------------------------------- statistics, exports, chart


def _seed_market(slack: SlackDriver) -> None:
    devon, lewisham = members(slack)
    slack.slash(devon, "/offer", "Our information asset register (IAR) template and guidance")
    slack.settle()
    slack.slash(lewisham, "/want", "Help setting up an IAR - information asset register")
    slack.settle()


def test_statistics_in_slack(pg_admin_slack: SlackDriver) -> None:
    _seed_market(pg_admin_slack)
    reply = admin(pg_admin_slack, "stats")
    assert "South West: 1 council, 1 member (2 to go)" in reply
    assert "London: 1 council, 1 member (2 to go)" in reply
    assert "2 councils and 2 members in all" in reply
    assert "1 made, 0 confirmed useful, 0 not a fit." in reply


def test_export_uploads_the_csv_files_to_the_facilitator(pg_admin_slack: SlackDriver) -> None:
    slack = pg_admin_slack
    _seed_market(slack)
    assert "sent you the CSV files" in admin(slack, "export")
    files = slack.fake.files()
    assert sorted(f.filename.split("-", 4)[-1] for f in files) == [
        "councils.csv",
        "introductions.csv",
        "outcomes.csv",
        "outputs.csv",
        "posts.csv",
        "sessions.csv",
    ]
    dm = slack.fake.workspace.dm_channel(FACILITATOR)
    assert dm is not None and all(f.channels == [dm] and f.completed for f in files)
    tables = {
        f.filename.split("-", 4)[-1]: list(
            csv.DictReader(io.StringIO(f.content.decode("utf-8-sig")))
        )
        for f in files
    }
    assert [p["text"] for p in tables["posts.csv"]] == [
        "Our information asset register (IAR) template and guidance",
        "Help setting up an IAR - information asset register",
    ]
    assert len(tables["introductions.csv"]) == 1 and tables["outcomes.csv"] == []
    assert {c["name"] for c in tables["councils.csv"]} == {
        "Devon County Council",
        "London Borough of Lewisham",
    }
    entry = audit_entries(slack, "export")[0]
    assert entry.actor == FACILITATOR and len(entry.after or {}) == 6


def test_export_files_are_named_by_the_uk_date(admin_slack: SlackDriver) -> None:
    # 23:30 UTC on 16 June 2027 is 00:30 on 17 June by UK clocks (BST).
    with time_machine.travel(datetime(2027, 6, 16, 23, 30, tzinfo=UTC), tick=False):
        admin(admin_slack, "export")
        admin(admin_slack, "report")
    names = {f.filename for f in admin_slack.fake.files()}
    assert "kmbot-2027-06-17-posts.csv" in names and "kmbot-activity-2027-06-17.png" in names


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "a PNG signature"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_uploads_a_png_chart(pg_admin_slack: SlackDriver) -> None:
    slack = pg_admin_slack
    _seed_market(slack)
    assert "sent you the chart" in admin(slack, "report")
    files = slack.fake.files()
    assert len(files) == 1
    chart = files[0]
    assert chart.filename.endswith(".png") and chart.completed
    assert chart.channels == [slack.fake.workspace.dm_channel(FACILITATOR)]
    width, height = _png_size(chart.content)
    assert width >= 600 and height >= 400
    assert len(chart.content) > 20_000
    assert "2 posts and 1 introductions" in (chart.initial_comment or "")
    assert audit_entries(slack, "report")[0].actor == FACILITATOR


def test_a_slack_failure_during_upload_gets_a_specific_message(admin_slack: SlackDriver) -> None:
    admin_slack.fake.set_faults(
        rate=1.0, kinds=("server_error",), methods={"files.getUploadURLExternal"}
    )
    reply = admin(admin_slack, "export")
    assert "Slack would not take that just now" in reply
    assert audit_entries(admin_slack, "export") == []


# ---------------------------------------------------------------- the audit log


def test_the_audit_log_lists_actions_newest_first_and_filters(admin_slack: SlackDriver) -> None:
    slack = admin_slack
    devon, _ = members(slack)
    admin(slack, "stats", user=devon)
    admin(slack, "councils add Newtown Town Council")
    admin(slack, "councils rename Newtown Town Council to Newtown Council")
    listed = admin(slack, "audit")
    lines = [line for line in listed.split("\n") if line.startswith("•")]
    assert "`council.rename`" in lines[0] and "`council.add`" in lines[1]
    assert "name: Newtown Town Council → Newtown Council" in listed
    assert "`refused`" in listed and f"<@{devon}>" in listed
    assert "`settings`" in listed, "the bootstrap from KMBOT_FACILITATORS is there too"
    only = admin(slack, f"audit 5 <@{devon}>")
    assert "`refused`" in only and "council." not in only
    assert "the latest 1" in admin(slack, "audit 1")
    assert "`council.add`" in admin(slack, "audit council.add")
    assert "no entries like that" in admin(slack, "audit post.remove")
