"""The marketplace's outputs: service areas (LGSL), top areas, gaps by region, outcomes that led
somewhere with the notes members agreed to share; through /km-admin, `kmbot stats` and
`kmbot outputs`."""

from __future__ import annotations

import csv
import io
import json
import struct
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from admin_kit import (
    FACILITATOR,
    KnownMarket,
    admin,
    build_known_market,
    council_member,
    facilitated_slack,
)
from slackkit import SlackDriver, validate_view

from bot.cli.main import main
from bot.container import Container, build_container
from bot.devtools.fakeslack import FakeSlack
from bot.kernel.clock import utcnow
from bot.kernel.settings import Settings
from bot.matching import normalise
from bot.reference.lgsl import ServiceAreaClassifier
from bot.reports import outputs
from bot.services.closing import record_outcome
from bot.services.membership import ensure_reference_councils
from storage.models import AuditEntry, Member, Outcome, Post, PostKind, PostStatus


@pytest.fixture
def market_slack(
    database_url: str, settings: Settings, fake_slack: FakeSlack
) -> Iterator[tuple[SlackDriver, KnownMarket]]:
    """The known market (six councils, outcomes), with the app and one facilitator."""
    changes = {"database_url": database_url, "intro_threshold": 101}
    with facilitated_slack(settings, fake_slack, **changes) as driver:
        yield driver, build_known_market(driver.services)


def share(services: Container, market: KnownMarket) -> None:
    """Devon agrees to share the note of the want Lewisham's offer fulfilled (126 days, where
    the known market recorded 30 and no note)."""
    with services.session_factory.begin() as session:
        devon = session.get(Member, market.members["devon"])
        assert devon is not None
        record_outcome(
            session,
            devon,
            market.posts["B"],
            days=126,
            note="Saved a whole project",
            share_note=True,
        )


def test_the_classifier_reads_posts_as_lgsl_service_areas() -> None:
    built = ServiceAreaClassifier.from_files(lambda text: normalise(text).terms)
    assert len(built.areas) == 13 and "Transport and highways" in built.areas

    def area(text: str) -> str | None:
        return built.classify_terms(normalise(text).terms)

    assert area("Homelessness prevention triage") == "Housing"
    assert area("School admissions appeals") == "Education and learning"
    assert area("Bus lane enforcement cameras") == "Transport and highways"
    assert area("Adult social care assessments backlog") == "Health and social care"
    assert area("Business rates relief guidance") == "Business and employment"
    assert area("Planning application validation checklist") == "Planning and building control"
    assert area("Intranet governance model") is None, "no area stands out"
    # Acronyms agree with matching's normaliser.
    assert outputs.service_area_of("SEN transport policy") is not None


def test_posts_are_classified_when_published(market_slack: tuple[SlackDriver, KnownMarket]) -> None:
    slack, market = market_slack
    with slack.services.session_factory() as session:
        post = session.get(Post, market.posts["A"])
        assert post is not None and post.service_area == "Health and social care"


def test_the_networks_own_glossary_counts_in_the_service_areas(
    settings: Settings, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """A facilitator's KMBOT_GLOSSARY row (a local acronym) is read by the classifier too."""
    glossary = tmp_path / "glossary.csv"
    glossary.write_text("term,expansion,kind\nZQX,recycling,acronym\n", encoding="utf-8")
    text = "ZQX rota and lessons"
    assert outputs.service_area_of(text) is None, "the shipped glossary does not know ZQX"
    with facilitated_slack(settings, fake_slack, glossary_file=str(glossary)) as slack:
        devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
        assert slack.slash(devon, "/offer", text).status == 200
        slack.settle()
        with slack.services.session_factory() as session:
            (post,) = session.query(Post).all()
            assert post.service_area == "Environmental protection"


def test_outputs_in_slack_show_top_areas_gaps_and_shared_outcomes(
    market_slack: tuple[SlackDriver, KnownMarket],
) -> None:
    slack, market = market_slack
    text = admin(slack, "outputs")
    assert "Top 5 areas of demand" in text and "Top 5 areas of supply" in text
    assert "Gaps: demand with no supply, by region" in text
    assert "South West: Health and social care" in text  # Devon's records retention want
    # Not shared: the note stays private, the helper and the days do not.
    assert "Lewisham saved Devon about 6 weeks' work" in text
    assert "Saved a whole project" not in text
    assert "5 introductions made; 3 led somewhere; 42.5 days saved." in text
    share(slack.services, market)
    text = admin(slack, "outputs")
    assert "Lewisham saved Devon about 6 months' work: Saved a whole project" in text
    assert "5 introductions made; 3 led somewhere; 138.5 days saved." in text

    # The tests' clock is 16 June 2027: the second quarter.
    assert "Marketplace outputs, Q2 2027 (Apr–Jun)" in admin(slack, "outputs 2027-Q2")
    assert "is not a quarter" in admin(slack, "outputs next-ish")
    assert "0 posts" in admin(slack, "outputs Q2 2026")
    quarter = outputs.Quarter(2027, 2)

    assert "sent you the chart and the CSV" in admin(slack, "outputs chart")
    sent = {f.filename: f.content for f in slack.fake.files()}
    assert set(sent) == {f"kmbot-outputs-{quarter.key}.png", f"kmbot-outputs-{quarter.key}.csv"}
    with slack.services.session_factory() as session:  # sent with shared notes: audited
        (entry,) = session.query(AuditEntry).filter_by(action="outputs").all()
        assert entry.actor == FACILITATOR and set(entry.after or {}) == set(sent)
    assert sent[f"kmbot-outputs-{quarter.key}.png"][:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.DictReader(io.StringIO(sent[f"kmbot-outputs-{quarter.key}.csv"].decode())))
    assert ("gap", "South West", "Health and social care") in {
        (r["section"], r["region"], r["area"]) for r in rows
    }


def test_stats_and_cli_include_the_outputs(
    database_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = build_container(settings.with_(database_url=database_url, intro_threshold=101))
    try:
        share(services, build_known_market(services))
        with services.session_factory() as session:
            assert session.query(Outcome).filter(Outcome.share_note.is_(True)).count() == 1
            # What the classifier made of the market's posts, counted from the store.
            areas: dict[str, Counter[str | None]] = {"want": Counter(), "offer": Counter()}
            for post in session.query(Post).filter(Post.status != PostStatus.REMOVED):
                areas[str(post.kind)][post.service_area] += 1
    finally:
        services.close()
    unplaced = {kind: counts.pop(None, 0) for kind, counts in areas.items()}
    assert unplaced["want"] and unplaced["offer"], "the market has posts placed in no area"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KMBOT_LOG_LEVEL", "WARNING")
    out = io.StringIO()
    assert main(["stats", "--json"], out) == 0
    data = json.loads(out.getvalue())
    assert "days_saved_by_council" in data and "unmet_areas" in data, "existing keys kept"
    assert data["outputs"]["introductions_led_somewhere"] == 3
    assert data["outputs"]["days_saved"] == 138.5
    # Posts placed in no service area are counted apart, not ranked as an area called "Other".
    top_demand = {row["area"]: row["wants"] for row in data["outputs"]["top_demand"]}
    top_supply = {row["area"]: row["offers"] for row in data["outputs"]["top_supply"]}

    def top_five(counts: Counter[str | None]) -> dict[str | None, int]:
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:5])

    assert top_demand == top_five(areas["want"]) and top_supply == top_five(areas["offer"])
    assert data["outputs"]["unplaced"] == {"wants": unplaced["want"], "offers": unplaced["offer"]}
    assert "Other" not in {g["area"] for g in data["outputs"]["gaps"]}
    sentences = [o["sentence"] for o in data["outputs"]["outcomes"]]
    assert "Lewisham saved Devon about 6 months' work: Saved a whole project" in sentences

    out = io.StringIO()
    csv_path, chart_path = tmp_path / "outputs.csv", tmp_path / "outputs.png"
    assert main(["outputs", "--csv", str(csv_path), "--chart", str(chart_path)], out) == 0
    assert "TOP 5 AREAS OF DEMAND" in out.getvalue()
    assert f"Not placed in a service area: {unplaced['want']} wants" in out.getvalue()
    assert f"Not placed in a service area: {unplaced['offer']} offer" in out.getvalue()
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert {r["section"] for r in rows} >= {"demand", "supply", "gap", "outcome"}
    assert any(r["note"] == "Saved a whole project" for r in rows)
    png = chart_path.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1200, 600)


def test_a_past_quarters_gaps_count_the_offers_open_in_it_not_today(
    database_url: str, settings: Settings
) -> None:
    """Q3 2026's gaps: an offer closed before Q3 met nothing in it; one closed since did."""
    services = build_container(settings.with_(database_url=database_url, intro_threshold=101))
    q2, q3, q4 = (utcnow().replace(year=2026, month=m, day=15) for m in (5, 8, 11))
    try:
        with services.session_factory.begin() as session:
            ensure_reference_councils(session, services.directory)
            devon = council_member(
                session, services, "U0DEVON", "Devon County Council", "Jo Bloggs"
            )
            kent = council_member(session, services, "U0KENT", "Kent County Council", "Raj Shah")

            def post(member: Member, kind: PostKind, area: str, made: datetime) -> Post:
                p = Post(
                    kind=kind,
                    member_id=member.id,
                    council_id=member.council_id,
                    text=f"About {area}",
                    service_area=area,
                    created_at=made,
                    changed_at=made,
                    expires_at=made + timedelta(days=90),
                )
                session.add(p)
                return p

            post(devon, PostKind.WANT, "Housing", q3)
            post(devon, PostKind.WANT, "Education and learning", q3)
            housing = post(kent, PostKind.OFFER, "Housing", q2)
            housing.status, housing.closed_at = PostStatus.FULFILLED, q4  # open all through Q3
            schools = post(kent, PostKind.OFFER, "Education and learning", q2)
            schools.status, schools.closed_at = PostStatus.WITHDRAWN, q2  # gone before Q3
        with services.session_factory() as session:
            found = outputs.collect_outputs(session, outputs.Quarter(2026, 3), now=q4)
    finally:
        services.close()
    assert [(g.area, g.wants) for g in found.gaps] == [("Education and learning", 1)]


def test_quarters_parse_and_bound() -> None:
    now = utcnow()
    q = outputs.Quarter.parse("Q3 2026", now=now)
    assert (q.year, q.number, q.key) == (2026, 3, "2026-Q3")
    assert outputs.Quarter.parse("2026q1", now=now).label == "Q1 2026 (Jan–Mar)"
    start, end = outputs.Quarter(2026, 4).bounds()
    assert start.isoformat() == "2026-09-30T23:00:00+00:00"  # midnight in London (BST)
    assert end.isoformat() == "2027-01-01T00:00:00+00:00"
    assert outputs.work_text(126) == "about 6 months' work"
    assert outputs.work_text(3) == "3 days' work"


# ---------------------------------------------------------------- consent, as members give it

MARKET = "C0MARKET"
SHARED = "Saved us writing the register from scratch"
PRIVATE = "Between us, our triage was in a mess"


@pytest.fixture
def consent_slack(
    database_url: str, settings: Settings, fake_slack: FakeSlack
) -> Iterator[SlackDriver]:
    """The app with one facilitator and an empty market, on both database engines."""
    with facilitated_slack(settings, fake_slack, database_url=database_url) as driver:
        yield driver


def _card_ts(slack: SlackDriver, text: str) -> str:
    cards = [m for m in slack.fake.messages(MARKET) if text in str(m.blocks)]
    assert len(cards) == 1, f"one card for {text!r}"
    return cards[0].ts


def _confirm_intro(slack: SlackDriver, user: str, want_text: str) -> None:
    """The wanting member presses "Useful — we're talking" on the introduction to their want."""
    thread = slack.fake.thread(MARKET, _card_ts(slack, want_text))
    assert len(thread) == 1, f"one introduction for {want_text!r}"
    intro = thread[0]
    value = next(b["elements"][0]["value"] for b in intro.blocks if b["type"] == "actions")
    slack.click(user, "intro_useful", value, message_ts=intro.ts)
    slack.settle()


def _fulfil(slack: SlackDriver, user: str, want_text: str) -> dict:  # type: ignore[type-arg]
    """Mark the member's want fulfilled from App Home; returns the outcome modal it opens."""
    with slack.services.session_factory() as session:
        post = session.query(Post).filter(Post.text == want_text).one()
        post_id = post.id
    slack.home_opened(user)
    slack.settle()
    home = slack.fake.home_view(user)
    assert home is not None
    slack.click(user, "post_fulfilled", str(post_id), view=home)
    slack.settle()
    modal = slack.last_modal()
    validate_view(modal)
    assert modal["callback_id"] == "outcome_modal"
    return modal


def _consent_box(modal: dict) -> dict:  # type: ignore[type-arg]
    blocks = [b for b in modal["blocks"] if b.get("block_id") == "share_note_block"]
    assert len(blocks) == 1, "the outcome modal asks whether the note may be shared"
    return blocks[0]  # type: ignore[no-any-return]


def _answers(days: str, note: str, share: bool) -> dict[str, dict]:  # type: ignore[type-arg]
    ticked = [{"text": {"type": "plain_text", "text": "Share"}, "value": "share"}] if share else []
    return {
        "days_block": {"days": {"type": "number_input", "value": days}},
        "note_block": {"note": {"type": "plain_text_input", "value": note}},
        "share_note_block": {"share_note": {"type": "checkboxes", "selected_options": ticked}},
    }


def test_only_notes_the_member_ticked_to_share_appear_in_the_outputs(
    consent_slack: SlackDriver, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slack = consent_slack
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    notts = slack.user("U0NOTTS", "Ali Khan", "ali.khan@nottinghamshire.gov.uk")
    iar_want = "How do we set up an information asset register?"
    triage_want = "Help with homelessness prevention triage at the front door"
    slack.slash(devon, "/offer", "Information asset register (IAR) template and guidance")
    slack.slash(lewisham, "/offer", "Homelessness prevention triage script and training")
    slack.settle()
    slack.slash(lewisham, "/want", iar_want)
    slack.slash(notts, "/want", triage_want)
    slack.settle()
    _confirm_intro(slack, lewisham, iar_want)
    _confirm_intro(slack, notts, triage_want)

    # Lewisham ticks the box: its note may be shown.
    modal = _fulfil(slack, lewisham, iar_want)
    box = _consent_box(modal)
    assert box["optional"] is True
    element = box["element"]
    assert element["type"] == "checkboxes" and "initial_options" not in element, "unticked"
    assert element["options"][0]["text"]["text"] == "Share this note in the network's outputs"
    assert slack.submit(lewisham, modal, _answers("126", SHARED, share=True)).status == 200
    # Nottinghamshire leaves it unticked: its note stays with the facilitators.
    modal = _fulfil(slack, notts, triage_want)
    assert slack.submit(notts, modal, _answers("10", PRIVATE, share=False)).status == 200
    slack.settle()

    with slack.services.session_factory() as session:
        shared = {o.note: o.share_note for o in session.query(Outcome)}
    assert shared == {SHARED: True, PRIVATE: False}

    text = admin(slack, "outputs")
    assert f"Devon saved Lewisham about 6 months' work: {SHARED}" in text
    assert "Lewisham saved Nottinghamshire about 2 weeks' work" in text, "the days, not the note"
    assert PRIVATE not in text
    assert "2 introductions made; 2 led somewhere; 136 days saved." in text

    # The same in `kmbot stats --json`, `kmbot outputs --json` and the export.
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KMBOT_LOG_LEVEL", "WARNING")
    for command in (["stats", "--json"], ["outputs", "--json"]):
        out = io.StringIO()
        assert main(command, out) == 0
        data = json.loads(out.getvalue())
        found = data["outputs"] if command[0] == "stats" else data
        notes = {o["helped"]: o["note"] for o in found["outcomes"]}
        assert notes == {"Lewisham": SHARED, "Nottinghamshire": None}
        assert PRIVATE not in out.getvalue()

    assert "sent you the CSV files" in admin(slack, "export")
    files = {f.filename.split("-", 4)[-1]: f.content for f in slack.fake.files()}
    rows = list(csv.DictReader(io.StringIO(files["outputs.csv"].decode("utf-8-sig"))))
    outcomes = {r["helped"]: r for r in rows if r["section"] == "outcome"}
    assert outcomes["Lewisham"]["note"] == SHARED
    assert outcomes["Lewisham"]["sentence"].startswith("Devon saved Lewisham about 6 months")
    assert outcomes["Nottinghamshire"]["note"] == "" and PRIVATE not in str(rows)
    # The facilitators' own outcomes file keeps every note, and says which may be shared.
    recorded = list(csv.DictReader(io.StringIO(files["outcomes.csv"].decode("utf-8-sig"))))
    assert {(r["note"], r["note_shared"]) for r in recorded} == {(SHARED, "yes"), (PRIVATE, "no")}


def test_a_note_shared_without_words_shares_nothing(consent_slack: SlackDriver) -> None:
    slack = consent_slack
    devon = slack.user("U0DEVON", "Jo Bloggs", "jo.bloggs@devon.gov.uk")
    lewisham = slack.user("U0LEWIS", "Sam Patel", "sam.patel@lewisham.gov.uk")
    want = "How do we set up an information asset register?"
    slack.slash(devon, "/offer", "Information asset register (IAR) template and guidance")
    slack.settle()
    slack.slash(lewisham, "/want", want)
    slack.settle()
    modal = _fulfil(slack, lewisham, want)
    answers = _answers("3", "", share=True)
    del answers["note_block"]
    assert slack.submit(lewisham, modal, answers).status == 200
    slack.settle()
    with slack.services.session_factory() as session:
        outcome = session.query(Outcome).one()
        assert (outcome.days_saved, outcome.note, outcome.share_note) == (3, None, False)
    text = admin(slack, "outputs")
    assert "1 introduction made; 0 led somewhere; 3 days saved." in text


def test_the_sponsor_sentence_reads_in_one_line() -> None:
    line = outputs.OutcomeLine(
        helper="Lewisham", helped="Nottinghamshire", days=126, note=None, area="Housing"
    )
    assert line.sentence == "Lewisham saved Nottinghamshire about 6 months' work"
    shared = outputs.OutcomeLine("Lewisham", "Devon", 2, "Two lines\n  of note.", "Housing")
    assert shared.sentence == "Lewisham saved Devon 2 days' work: Two lines of note."
    assert outputs.OutcomeLine("Lewisham", "Devon", None, None, "x").sentence == (
        "Lewisham helped Devon"
    )
    assert outputs.OutcomeLine(None, "Devon", None, None, "x").sentence == (
        "Devon found what it needed"
    )
    units = {
        0.5: "half a day's work",
        0.25: "less than a day's work",
        1: "a day's work",
        2.5: "2.5 days' work",
        9: "9 days' work",
        10: "about 2 weeks' work",
        12.5: "about 3 weeks' work",  # half up, as people round
        41: "about 8 weeks' work",
        42: "about 2 months' work",
        126: "about 6 months' work",
        400: "about 19 months' work",
        504: "about 2 years' work",
        5000: "about 20 years' work",
    }
    assert {days: outputs.work_text(days) for days in units} == units


def test_outputs_to_a_folder_that_is_not_there_is_a_clear_error(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KMBOT_LOG_LEVEL", "WARNING")
    target = tmp_path / "no-such-folder" / "outputs.csv"
    assert main(["outputs", "--csv", str(target)], io.StringIO()) == 2
    err = capsys.readouterr().err
    assert f"Cannot write {target}" in err and "Traceback" not in err
