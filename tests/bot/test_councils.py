"""The council directory: loading the reference list and resolving what people type."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.reference.councils import (
    CouncilDirectory,
    CouncilRecord,
    display_name,
    email_domain,
    load_reference_councils,
)

SHARED_CSV = Path(__file__).resolve().parents[2] / "bot" / "data" / "uk-councils.csv"


@pytest.fixture(scope="module")
def directory() -> CouncilDirectory:
    return CouncilDirectory.reference()


def record(name: str, **extra: object) -> CouncilRecord:
    fields: dict[str, object] = {
        "code": None,
        "short_name": name,
        "gss_code": None,
        "nation": "England",
        "region": None,
        "type": None,
        "web_domain": None,
        "alt_names": (),
    }
    fields.update(extra)
    return CouncilRecord(name=name, **fields)  # type: ignore[arg-type]


# --- loading ---


def test_all_397_reference_councils_load() -> None:
    records = load_reference_councils()
    assert len(records) == 397
    assert len({r.gss_code for r in records}) == 397
    assert all(r.name and r.short_name and r.code for r in records)
    nations = {r.nation for r in records}
    assert nations == {"England", "Scotland", "Wales", "Northern Ireland"}


def test_loading_from_a_path_matches_the_shipped_default() -> None:
    assert load_reference_councils(SHARED_CSV) == load_reference_councils()


def test_reference_directory_is_built_once() -> None:
    assert CouncilDirectory.reference() is CouncilDirectory.reference()
    assert len(CouncilDirectory.reference()) == 397


def test_loading_tidies_the_source(directory: CouncilDirectory) -> None:
    by_code = {r.code: r for r in directory.records}
    # The source has "North Somerset  Council" and "Newry, Mourne and Down " (stray spaces).
    assert by_code["NSM"].name == "North Somerset Council"
    assert by_code["NMD"].short_name == "Newry, Mourne and Down"
    # Alternative names containing ", " stay whole rather than splitting into "City of".
    assert "Bristol, City of" in by_code["BST"].alt_names
    assert "City of" not in by_code["BST"].alt_names
    assert by_code["GLG"].web_domain is None  # 21 councils have no web domain
    assert by_code["DEV"].web_domain == "devon.gov.uk"
    assert display_name(by_code["DEV"]) == "Devon County Council"


# --- resolving ---


@pytest.mark.parametrize(
    ("typed", "expected", "how"),
    [
        ("Devon County Council", "Devon County Council", "exact"),
        ("devon county council.", "Devon County Council", "exact"),
        ("Devon", "Devon County Council", "exact"),
        ("DEV", "Devon County Council", "exact"),
        ("E10000008", "Devon County Council", "exact"),
        ("Devon CC", "Devon County Council", "exact"),
        ("LB Lewisham", "London Borough of Lewisham", "exact"),
        ("Lewisham LBo", "London Borough of Lewisham", "exact"),
        ("Notts County Council", "Nottinghamshire County Council", "exact"),
        ("Notts CC", "Nottinghamshire County Council", "exact"),
        ("Nottingham CC", "Nottingham City Council", "exact"),
        ("Tower Hamlets", "London Borough of Tower Hamlets", "exact"),
        ("Kent", "Kent County Council", "exact"),
        ("Bristol", "Bristol City Council", "alternative name"),
        ("Durham", "Durham County Council", "alternative name"),
        ("Lancs CC", "Lancashire County Council", "exact"),
        ("Herts", "Hertfordshire County Council", "exact"),
        ("Brum", "Birmingham City Council", "exact"),
        ("Worcs CC", "Worcestershire County Council", "exact"),
        ("S Glos", "South Gloucestershire Council", "exact"),
        ("St Helens", "St Helens Council", "exact"),
        ("Brighton & Hove", "Brighton and Hove City Council", "exact"),
        ("RB Kensington & Chelsea", "Royal Borough of Kensington and Chelsea", "exact"),
        ("RBKC", "Royal Borough of Kensington and Chelsea", "alternative name"),
        ("Barnsley MBC", "Barnsley Metropolitan Borough Council", "exact"),
        ("Mid Devon DC", "Mid Devon District Council", "exact"),
        ("City of Edinburgh", "City of Edinburgh Council", "exact"),
        ("Rhondda", "Rhondda Cynon Taf County Borough Council", "alternative name"),
        ("Lewisam", "London Borough of Lewisham", "fuzzy"),
        ("Wiltshre Council", "Wiltshire Council", "fuzzy"),
        ("Nottinghamshire County Concil", "Nottinghamshire County Council", "fuzzy"),
        ("Brighton", "Brighton and Hove City Council", "fuzzy"),
    ],
)
def test_resolves_what_people_type(
    directory: CouncilDirectory, typed: str, expected: str, how: str
) -> None:
    found = directory.resolve(typed)
    assert found.record is not None, found
    assert (found.record.name, found.how) == (expected, how)


def test_county_beats_its_districts(directory: CouncilDirectory) -> None:
    for typed in ("Devon", "Devon CC", "Kent"):
        found = directory.resolve(typed)
        assert found.record is not None
        assert found.record.type == "County"


@pytest.mark.parametrize(
    ("typed", "successor"),
    [
        ("Taunton Deane Borough Council", "Somerset Council"),
        ("Aylesbury Vale District Council", "Buckinghamshire Council"),
        ("Suffolk Coastal DC", "East Suffolk Council"),
    ],
)
def test_abolished_councils_are_unknown_but_suggest_their_successor(
    directory: CouncilDirectory, typed: str, successor: str
) -> None:
    found = directory.resolve(typed)
    assert found.record is None
    assert found.how == "none"
    assert found.candidates[0].name == successor


def test_an_unknown_council_is_none(directory: CouncilDirectory) -> None:
    for typed in ("Ankh-Morpork City Council", "Borough Council", "", "   "):
        found = directory.resolve(typed)
        assert (found.record, found.how) == (None, "none"), typed


@pytest.mark.parametrize(
    ("typed", "among"),
    [
        ("Kingston", {"Kingston upon Thames", "Kingston upon Hull"}),
        ("Cheshire", {"Cheshire East", "Cheshire West and Chester"}),
        ("Harow", {"Harrow", "Harlow"}),
    ],
)
def test_ambiguous_names_offer_candidates(
    directory: CouncilDirectory, typed: str, among: set[str]
) -> None:
    found = directory.resolve(typed)
    assert (found.record, found.how) == (None, "ambiguous")
    assert among <= {r.short_name for r in found.candidates}
    assert len(found.candidates) <= 5


def test_a_name_shared_by_two_councils_is_told_apart_by_type_words() -> None:
    city = record("Exampleton City Council", short_name="Exampleton", type="Unitary authority")
    county = record("Exampleton County Council", short_name="Exampleton", type="County")
    directory = CouncilDirectory([city, county])
    assert directory.resolve("Exampleton").how == "ambiguous"
    assert directory.resolve("Exampleton CC").how == "ambiguous"  # CC: county or city
    assert directory.resolve("Exampleton County").record == county
    assert directory.resolve("City of Exampleton").record == city


# --- email ---


@pytest.mark.parametrize(
    "typed",
    [
        "jo.bloggs@devon.gov.uk",
        "Jo.Bloggs@DEVON.gov.uk",
        "x@staff.devon.gov.uk",
        "devon.gov.uk",
        "www.devon.gov.uk",
        "https://www.devon.gov.uk/contact",
        "<mailto:jo@devon.gov.uk|jo@devon.gov.uk>",
    ],
)
def test_email_addresses_and_domains_resolve(directory: CouncilDirectory, typed: str) -> None:
    found = directory.by_email(typed)
    assert found.record is not None and found.record.name == "Devon County Council"
    assert found.how == "email domain"


def test_resolve_understands_email_addresses(directory: CouncilDirectory) -> None:
    found = directory.resolve("sam.green@lewisham.gov.uk")
    assert found.record is not None and found.record.short_name == "Lewisham"
    assert found.how == "email domain"


def test_email_domain_shared_by_two_councils_is_ambiguous(directory: CouncilDirectory) -> None:
    found = directory.by_email("jo@adur-worthing.gov.uk")
    assert found.how == "ambiguous"
    assert {r.short_name for r in found.candidates} == {"Adur", "Worthing"}


def test_unknown_email_domains_resolve_to_nothing(directory: CouncilDirectory) -> None:
    for typed in ("jo@example.com", "jo@gov.uk", "jo@notdevon.gov.uk", "not an email"):
        assert directory.by_email(typed).how == "none", typed


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("Jo.Bloggs@Devon.GOV.uk", "devon.gov.uk"),
        ("  jo@devon.gov.uk ", "devon.gov.uk"),
        ("mailto:jo@devon.gov.uk", "devon.gov.uk"),
        ("Jo Bloggs <jo@devon.gov.uk>", "devon.gov.uk"),
        ("jo@devon", None),
        ("jo@@devon.gov.uk", None),
        ("@devon.gov.uk", None),
        ("jo bloggs@devon.gov.uk", None),
        ("devon.gov.uk", None),
        ("", None),
    ],
)
def test_email_domain(email: str, domain: str | None) -> None:
    assert email_domain(email) == domain


# --- search ---


def test_search_puts_prefix_matches_first(directory: CouncilDirectory) -> None:
    names = [r.short_name for r in directory.search("dev")]
    assert names[0] == "Devon"
    assert {"Mid Devon", "East Devon", "West Devon", "North Devon"} <= set(names)


def test_search_finds_words_inside_names_and_nicknames(directory: CouncilDirectory) -> None:
    assert directory.search("hamlets")[0].short_name == "Tower Hamlets"
    assert directory.search("notts")[0].short_name == "Nottinghamshire"
    assert directory.search("Kent")[0].short_name == "Kent"


def test_search_forgives_typos_and_respects_the_limit(directory: CouncilDirectory) -> None:
    assert directory.search("kensingtn")[0].short_name == "Kensington and Chelsea"
    assert len(directory.search("north", limit=3)) == 3
    assert len(directory.search("", limit=7)) == 7


def test_search_for_nonsense_finds_nothing(directory: CouncilDirectory) -> None:
    assert directory.search("zzqxj") == []
