"""Scenario: a member edits their own post from its card or App Home."""

from __future__ import annotations

from featurekit import MARKET, answer, home_buttons, post_values
from slackkit import SlackDriver, validate_blocks, validate_view
from sqlalchemy import select

from bot.kernel.vocabulary import PostKind
from bot.services.editing import edit_post, plan_rematch
from bot.services.posting import Draft
from bot.slack import ids, modals
from bot.slack.views import PostView
from storage.models import AuditEntry, IntakeRequest, Introduction, Member, Post

IAR_OFFER = "Information asset register (IAR) template and guidance"
WANT = "How do we set up an information asset register?"
RETENTION_OFFER = "Our records retention schedule and disposal guidance"
EDITED_WANT = "How do we set up an information asset register and a records retention schedule?"


def _people(slack: SlackDriver) -> tuple[str, str, str]:
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    manchester = slack.user("U0MANC", "Kim Lowe", "kim.lowe@manchester.gov.uk")
    return devon, lewisham, manchester


def _edit_button(card_blocks: list[dict]) -> dict:  # type: ignore[type-arg]
    actions = next(b for b in card_blocks if b["type"] == "actions")
    return next(e for e in actions["elements"] if e["action_id"] == ids.ACT_EDIT_POST)


def test_the_author_edits_from_the_card_and_everyone_sees_the_new_card(
    pg_slack: SlackDriver,
) -> None:
    slack = pg_slack
    _devon, lewisham, _ = _people(slack)
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    button = _edit_button(card.blocks)
    assert button["text"]["text"] == "Edit"
    slack.click(lewisham, ids.ACT_EDIT_POST, button["value"], message_ts=card.ts)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == ids.VIEW_EDIT and modal["title"]["text"] == "Edit Want #1"
    text = next(b for b in modal["blocks"] if b["block_id"] == ids.BLK_TEXT)["element"]
    assert text["initial_value"] == WANT

    resp = slack.submit(lewisham, modal, post_values("A new text about registers & IAR", area="IM"))
    assert answer(resp) == {}
    slack.settle()
    updated = slack.fake.message(MARKET, card.ts)
    assert updated is not None and updated.edited
    validate_blocks(updated.blocks)
    assert "A new text about registers &amp; IAR" in updated.blocks[0]["text"]["text"]
    assert "Information Management" in str(updated.blocks)
    assert len(slack.fake.messages(MARKET)) == 1  # updated in place, not posted again
    assert "Saved your changes to *Want #1*" in str(slack.fake.dms(lewisham)[-1].blocks)
    with slack.services.session_factory() as session:
        post = session.get(Post, 1)
        assert post is not None and (post.text, post.area) == (
            "A new text about registers & IAR",
            "IM",
        )
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "post.edit")).one()
        assert entry.actor == lewisham and entry.target == "Want #1"
        assert entry.before is not None and entry.before["text"] == WANT
        assert entry.after is not None and entry.after["area"] == "IM"
        # The save went through the durable intake, as a new post's form does.
        jobs = session.scalars(select(IntakeRequest.job).where(IntakeRequest.job.is_not(None)))
        assert "post_edit" in list(jobs)


def test_the_edit_form_is_filled_in_with_everything_the_post_has(slack: SlackDriver) -> None:
    _devon, lewisham, _ = _people(slack)
    link = "https://example.org/iar"
    slack.submit(
        lewisham,
        modals.post_modal("want"),
        post_values(WANT, area="IM", purpose="efficiency", link=link),
    )
    slack.settle()
    slack.click(lewisham, ids.ACT_EDIT_POST, "1", message_ts=slack.fake.messages(MARKET)[0].ts)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    elements = {b["block_id"]: b["element"] for b in modal["blocks"]}
    assert elements[ids.BLK_TEXT]["initial_value"] == WANT
    assert elements[ids.BLK_AREA]["initial_option"]["value"] == "IM"
    assert elements[ids.BLK_PURPOSE]["initial_option"]["value"] == "efficiency"
    assert elements[ids.BLK_LINK]["initial_value"] == link
    assert modal["private_metadata"] == "want:edit:1" and modal["submit"]["text"] == "Save"
    # Nothing chosen, nothing filled in: the builder alone.
    bare = modals.edit_modal(PostView(id=7, kind="offer", text="Our toolkit", council="Devon"))
    validate_view(bare)
    bare_elements = {b["block_id"]: b["element"] for b in bare["blocks"]}
    assert "initial_option" not in bare_elements[ids.BLK_AREA]
    assert "initial_value" not in bare_elements[ids.BLK_LINK]


def test_someone_else_pressing_edit_is_politely_refused(slack: SlackDriver) -> None:
    devon, lewisham, _ = _people(slack)
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    slack.click(devon, ids.ACT_EDIT_POST, "1", message_ts=card.ts)
    slack.settle()
    assert slack.fake.views_opened() == []
    assert "Only the person who posted Want #1 can edit it" in slack.fake.ephemerals(devon)[-1].text
    assert not slack.fake.message(MARKET, card.ts).edited  # type: ignore[union-attr]


def test_an_edit_introduces_only_new_pairs(pg_slack: SlackDriver) -> None:
    slack = pg_slack
    devon, lewisham, manchester = _people(slack)
    slack.slash(devon, "/offer", IAR_OFFER)
    slack.settle()
    slack.slash(manchester, "/offer", RETENTION_OFFER)
    slack.settle()
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    want_card = slack.fake.messages(MARKET)[2]
    assert len(slack.fake.thread(MARKET, want_card.ts)) == 1  # Devon's IAR only
    slack.click(lewisham, ids.ACT_EDIT_POST, "3", message_ts=want_card.ts)
    slack.settle()
    slack.submit(lewisham, slack.last_modal(), post_values(EDITED_WANT))
    slack.settle()
    with slack.services.session_factory() as session:
        pairs = sorted((i.want_id, i.offer_id) for i in session.scalars(select(Introduction)))
    assert pairs == [(3, 1), (3, 2)]
    thread = slack.fake.thread(MARKET, want_card.ts)
    assert len(thread) == 2  # Manchester introduced; Devon not introduced again
    assert "Manchester City Council" in str(thread[1].blocks)
    assert "I've introduced you to: Offer #2 (Manchester City Council)" in str(
        slack.fake.dms(lewisham)[-1].blocks
    )
    # Saving it again unchanged introduces nobody and says so.
    slack.click(lewisham, ids.ACT_EDIT_POST, "3", message_ts=want_card.ts)
    slack.settle()
    slack.submit(lewisham, slack.last_modal(), post_values(EDITED_WANT))
    slack.settle()
    assert len(slack.fake.thread(MARKET, want_card.ts)) == 2
    assert "Nothing changed in *Want #3*" in slack.fake.dms(lewisham)[-1].text


def test_a_post_arriving_after_the_matches_were_planned_is_not_missed(
    slack: SlackDriver,
) -> None:
    """The edit's matches are found before its write transaction; if the index changed since,
    they are found again under the lock."""
    devon, lewisham, manchester = _people(slack)
    slack.slash(devon, "/offer", IAR_OFFER)
    slack.settle()
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    services = slack.services
    edited = Draft(PostKind.WANT, EDITED_WANT)
    with services.read_session() as session:
        post = session.get(Post, 2)
        assert post is not None
        plan = plan_rematch(session, post, edited, services.live_index)
    assert plan.strong == []  # Devon's offer is introduced already; nothing else matches yet
    slack.slash(manchester, "/offer", RETENTION_OFFER)  # lands between the plan and the save
    slack.settle()
    with services.session_factory.begin() as session:
        member = session.scalars(select(Member).where(Member.slack_user_id == lewisham)).one()
        _post, changed, made = edit_post(
            session,
            member,
            2,
            edited,
            settings=services.settings,
            matcher=services.live_index,
            now=services.clock(),
            plan=plan,
        )
        assert changed and [(i.want_id, i.offer_id) for i in made] == [(2, 3)]


def test_a_closed_post_cannot_be_edited(slack: SlackDriver) -> None:
    _devon, lewisham, _ = _people(slack)
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    slack.click(lewisham, ids.ACT_EDIT_POST, "1", message_ts=card.ts)
    slack.settle()
    modal = slack.last_modal()
    slack.slash(lewisham, "/km", "close 1")
    slack.settle()
    # The form opened before it closed: saving now is refused in the form.
    resp = slack.submit(lewisham, modal, post_values("Something else entirely"))
    assert "is withdrawn, so it can't be edited" in answer(resp)["errors"][ids.BLK_TEXT]
    slack.click(lewisham, ids.ACT_EDIT_POST, "1", message_ts=card.ts)
    slack.settle()
    assert "is withdrawn, so it can't be edited" in slack.fake.ephemerals(lewisham)[-1].text
    with slack.services.session_factory() as session:
        assert session.get(Post, 1).text == WANT  # type: ignore[union-attr]


def test_an_edit_is_checked_as_a_new_post_is(slack: SlackDriver) -> None:
    _devon, lewisham, _ = _people(slack)
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    slack.click(lewisham, ids.ACT_EDIT_POST, "1", message_ts=slack.fake.messages(MARKET)[0].ts)
    slack.settle()
    modal = slack.last_modal()
    short = slack.submit(lewisham, modal, post_values("ab"))
    assert "too short" in answer(short)["errors"][ids.BLK_TEXT]
    bad_link = slack.submit(lewisham, modal, post_values(WANT, link="javascript:alert(1)"))
    assert ids.BLK_LINK in answer(bad_link)["errors"]
    slack.settle()
    with slack.services.session_factory() as session:
        assert session.get(Post, 1).text == WANT  # type: ignore[union-attr]
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action == "post.edit")).all() == []
        )


def test_edit_from_app_home(slack: SlackDriver) -> None:
    _devon, lewisham, _ = _people(slack)
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    slack.home_opened(lewisham)
    slack.settle()
    home = slack.fake.home_view(lewisham)
    assert home is not None
    validate_view(home)
    edit = home_buttons(home, ids.ACT_EDIT_POST)
    assert [b["value"] for b in edit] == ["1"]
    slack.click(lewisham, ids.ACT_EDIT_POST, "1", view=home)
    slack.settle()
    modal = slack.last_modal()
    slack.submit(lewisham, modal, post_values("An information asset register, please"))
    slack.settle()
    home = slack.fake.home_view(lewisham)
    assert home is not None and "An information asset register, please" in str(home["blocks"])


def test_a_removed_post_cannot_be_edited(slack: SlackDriver) -> None:
    from bot.services.admin.moderation import remove_post

    _devon, lewisham, _ = _people(slack)
    slack.slash(lewisham, "/want", WANT)
    slack.settle()
    services = slack.services
    with services.session_factory.begin() as session:
        remove_post(session, 1, "personal data", actor="U0FACIL", matcher=services.live_index)
    slack.settle()
    card = slack.fake.messages(MARKET)[0]
    slack.click(lewisham, ids.ACT_EDIT_POST, "1", message_ts=card.ts)
    slack.settle()
    assert slack.fake.views_opened() == []
    refusal = slack.fake.ephemerals(lewisham)[-1].text
    assert "Want #1 was removed by a facilitator, so it can't be edited" in refusal
