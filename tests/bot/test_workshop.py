"""Workshop CSV files: parsing, checking and fingerprinting."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.reference.councils import CouncilDirectory
from bot.services.workshop_csv import (
    ParsedWorkshop,
    WorkshopFormatError,
    WorkshopRow,
    clean_text,
    parse_workshop,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workshops"
EXAMPLE = Path(__file__).resolve().parents[2] / "bot" / "data" / "example-workshop.csv"
HEADER = "council,name,email,kind,text\n"


def parse_text(text: str, **options: object) -> ParsedWorkshop:
    return parse_workshop(io.StringIO(text, newline=""), **options)  # type: ignore[arg-type]


def reasons(parsed: ParsedWorkshop) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for problem in parsed.problems:
        found.setdefault(problem.line, []).append(problem.reason)
    return found


# --- good files ---


def test_a_good_file_parses_with_known_columns_normalised() -> None:
    parsed = parse_workshop(FIXTURES / "good.csv")
    assert parsed.problems == []
    assert parsed.duplicates_in_file == 0
    devon, lewisham, wiltshire, kent = parsed.rows
    assert devon == WorkshopRow(
        line=2,
        council="Devon County Council",
        name="Jo Bloggs",
        email="jo.bloggs@devon.gov.uk",
        kind="offer",
        text="Information asset register (IAR) template",
        area="IM",
        purpose="efficiency",
        link="https://example.org/iar",
    )
    assert (lewisham.kind, lewisham.area, lewisham.purpose, lewisham.link) == (
        "want",
        "OL",
        "bau",
        None,
    )
    # Kind is case-insensitive; text is stripped and its white space collapsed.
    assert (wiltshire.kind, wiltshire.text) == ("offer", "Community area planning")
    assert (wiltshire.area, wiltshire.purpose) == ("CF", "transformation")
    # "Wants" as on the flip chart's heading; optional cells empty.
    assert (kent.line, kent.kind, kent.area, kent.purpose) == (5, "want", None, None)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("business as usual", "bau"),
        ("BAU", "bau"),
        ("efficiency/effectiveness", "efficiency"),
        ("Efficiency & effectiveness", "efficiency"),
        ("effectiveness", "efficiency"),
        ("business transformation", "transformation"),
        ("Transformation", "transformation"),
    ],
)
def test_purpose_words(typed: str, code: str) -> None:
    parsed = parse_text(
        f"council,name,email,kind,text,purpose\nDevon,Jo,jo@devon.gov.uk,want,x,{typed}\n"
    )
    assert parsed.problems == []
    assert parsed.rows[0].purpose == code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("IM", "IM"),
        ("information management", "IM"),
        ("Customer Focus", "CF"),
        ("co", "CO"),
        ("Communications", "CO"),
        ("ol", "OL"),
    ],
)
def test_area_words(typed: str, code: str) -> None:
    parsed = parse_text(
        f"council,name,email,kind,text,area\nDevon,Jo,jo@devon.gov.uk,want,x,{typed}\n"
    )
    assert parsed.rows[0].area == code


def test_extra_columns_are_ignored_and_columns_may_come_in_any_order() -> None:
    parsed = parse_text(
        "notes,text,kind,email,name,council,score\n"
        "hello,Need an IAR,want,jo@devon.gov.uk,Jo,Devon,5\n"
    )
    assert parsed.problems == []
    row = parsed.rows[0]
    assert (row.council, row.name, row.email, row.kind, row.text) == (
        "Devon",
        "Jo",
        "jo@devon.gov.uk",
        "want",
        "Need an IAR",
    )


def test_bom_crlf_and_a_loose_header_from_excel() -> None:
    parsed = parse_workshop(FIXTURES / "bom-crlf.csv")
    assert parsed.problems == []
    assert [(r.line, r.council, r.text) for r in parsed.rows] == [
        (2, "Devon County Council", "IAR template"),
        (5, "Kent County Council", "How to start an IAR"),
    ]


def test_bom_and_crlf_in_a_text_stream() -> None:
    data = "\ufeffCouncil,Name,Email,Kind,Text\r\nDevon,Jo,jo@devon.gov.uk,offer,IAR\r\n"
    parsed = parse_workshop(
        io.TextIOWrapper(io.BytesIO(data.encode()), encoding="utf-8", newline="")
    )
    assert parsed.problems == []
    assert parsed.rows[0].council == "Devon"


def test_line_numbers_count_the_lines_inside_quoted_fields() -> None:
    parsed = parse_workshop(FIXTURES / "quoted-newline.csv")
    assert [(r.line, r.council, r.text) for r in parsed.rows] == [
        (2, "Devon County Council", "First line second line third line"),
        (6, "Tower Hamlets", 'Mediated "content"'),
    ]
    assert sorted(reasons(parsed)) == [5, 9]
    assert "'wnat'" in reasons(parsed)[5][0]
    assert "kind is missing" in reasons(parsed)[9][0]


def test_control_characters_are_removed() -> None:
    assert clean_text("IAR\x00 tem\u200bplate\t\r\n for\x07 all ") == "IAR template for all"


def test_trailing_empty_cells_and_short_rows_of_optional_cells_are_fine() -> None:
    parsed = parse_text(
        "council,name,email,kind,text,area,,,\n"
        "Devon,Jo,jo@devon.gov.uk,want,IAR,IM,,,,,\n"
        "Kent,Raj,raj@kent.gov.uk,offer,IAR\n"
    )
    assert parsed.problems == []
    assert [(r.council, r.area) for r in parsed.rows] == [("Devon", "IM"), ("Kent", None)]


# --- bad rows ---


def test_every_bad_row_is_reported_with_its_line_and_a_specific_reason() -> None:
    parsed = parse_workshop(FIXTURES / "bad-rows.csv", max_text=30)
    found = reasons(parsed)
    assert sorted(found) == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 14]  # 6 is blank, 13 is good
    assert found[2] == ["line 2: the council is missing"]
    assert found[3] == ["line 3: the name is missing"]
    assert found[4] == ["line 4: 'not-an-email' is not an email address"]
    assert found[5] == ["line 5: kind must be 'want' or 'offer', not 'wnat' (did you mean 'want'?)"]
    assert found[7] == ["line 7: the text is missing"]
    assert found[8][0].startswith("line 8: area must be one of IM (Information Management),")
    assert "not 'HR'" in found[8][0]
    assert "'business as usual'" in found[9][0] and "not 'profit'" in found[9][0]
    assert found[10] == [
        "line 10: the link 'www.example.org' can't be used: links must start with http:// or https://."
    ]
    assert found[11][0].startswith("line 11: it has 9 fields but the header has 8")
    assert found[12][0].startswith("line 12: it has 4 fields but the header has 8")
    assert found[14] == ["line 14: the text is 39 characters long; the limit is 30"]
    assert [(r.line, r.text) for r in parsed.rows] == [(13, "A good row")]
    assert all(p.reason.startswith(f"line {p.line}: ") for p in parsed.problems)


def test_a_row_with_several_problems_reports_each() -> None:
    parsed = parse_text(HEADER + ",,nobody,sell,\n")
    assert [p.reason for p in parsed.problems] == [
        "line 2: the council is missing",
        "line 2: the name is missing",
        "line 2: 'nobody' is not an email address",
        "line 2: kind must be 'want' or 'offer', not 'sell'",
        "line 2: the text is missing",
    ]
    assert parsed.rows == []


def test_kind_suggestion_for_a_near_miss() -> None:
    parsed = parse_text(HEADER + "Devon,Jo,jo@devon.gov.uk,ofer,IAR\n")
    assert parsed.problems[0].reason.endswith("not 'ofer' (did you mean 'offer'?)")


@pytest.mark.parametrize(
    "email", ["jo", "jo@", "@devon.gov.uk", "jo@devon", "jo bloggs@devon.gov.uk", "a@b@c.uk"]
)
def test_bad_email_addresses(email: str) -> None:
    parsed = parse_text(HEADER + f"Devon,Jo,{email},want,IAR\n")
    assert parsed.problems[0].reason == f"line 2: '{email}' is not an email address"


def test_ftp_and_javascript_links_are_refused() -> None:
    parsed = parse_text(
        "council,name,email,kind,text,link\n"
        "Devon,Jo,jo@devon.gov.uk,want,IAR,ftp://example.org/x\n"
        "Devon,Jo,jo@devon.gov.uk,want,IAR2,javascript:alert(1)\n"
    )
    assert [p.line for p in parsed.problems] == [2, 3]


# --- whole-file problems ---


def test_a_missing_column_is_named() -> None:
    with pytest.raises(WorkshopFormatError, match="missing the column 'email'"):
        parse_workshop(FIXTURES / "missing-column.csv")


def test_several_missing_columns_are_all_named() -> None:
    with pytest.raises(WorkshopFormatError, match="missing the columns 'email', 'kind'"):
        parse_text("council,name,text\n")


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff", ",,,\n"])
def test_an_empty_file(text: str) -> None:
    with pytest.raises(WorkshopFormatError, match="empty"):
        parse_text(text)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "Devon,Zoë,zoe@devon.gov.uk,want,IAR\n").encode("latin-1"))
    with pytest.raises(WorkshopFormatError, match="not UTF-8.*line 2"):
        parse_workshop(path)


def test_a_spreadsheet_instead_of_csv(tmp_path: Path) -> None:
    path = tmp_path / "workshop.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe\x00\x00")
    with pytest.raises(WorkshopFormatError):
        parse_workshop(path)


def test_semicolon_separated_files_are_explained() -> None:
    with pytest.raises(WorkshopFormatError, match="semicolons"):
        parse_text("council;name;email;kind;text\nDevon;Jo;jo@devon.gov.uk;want;IAR\n")


def test_a_header_only_file_has_no_rows() -> None:
    parsed = parse_text(HEADER)
    assert (parsed.rows, parsed.problems, parsed.duplicates_in_file) == ([], [], 0)


# --- duplicates and fingerprints ---


def test_exact_duplicates_are_counted_and_dropped() -> None:
    parsed = parse_workshop(FIXTURES / "duplicates.csv")
    assert parsed.duplicates_in_file == 2
    assert [(r.line, r.kind) for r in parsed.rows] == [(2, "offer"), (5, "want")]


def test_fingerprint_is_stable_across_reads() -> None:
    first = [r.fingerprint() for r in parse_workshop(EXAMPLE).rows]
    second = [r.fingerprint() for r in parse_workshop(EXAMPLE).rows]
    assert first == second
    assert len(set(first)) == len(first)
    assert all(len(fp) == 64 and int(fp, 16) >= 0 for fp in first)


def test_fingerprint_ignores_case_spacing_and_line_but_not_content() -> None:
    row = WorkshopRow(2, "Devon County Council", "Jo", "jo@devon.gov.uk", "offer", "IAR template",
                      None, None, None)  # fmt: skip
    same = WorkshopRow(9, "devon county council.", "Joanne", "JO@Devon.gov.uk", "offer",
                       "iar   TEMPLATE", "IM", "bau", None)  # fmt: skip
    assert row.fingerprint() == same.fingerprint()
    for changed in (
        WorkshopRow(2, "Devon County Council", "Jo", "jo@devon.gov.uk", "offer", "IAR templates",
                    None, None, None),
        WorkshopRow(2, "Devon County Council", "Jo", "jo@devon.gov.uk", "want", "IAR template",
                    None, None, None),
        WorkshopRow(2, "Kent County Council", "Jo", "jo@devon.gov.uk", "offer", "IAR template",
                    None, None, None),
        WorkshopRow(2, "Devon County Council", "Jo", "al@devon.gov.uk", "offer", "IAR template",
                    None, None, None),
    ):  # fmt: skip
        assert changed.fingerprint() != row.fingerprint()


# --- progress and size ---


def test_on_row_reports_progress() -> None:
    seen: list[int] = []
    parse_text(
        HEADER + "Devon,Jo,jo@devon.gov.uk,want,A\n\nDevon,Jo,jo@x,want,B\n", on_row=seen.append
    )
    assert seen == [1, 2]


def test_a_hundred_thousand_rows_parse_cleanly() -> None:
    # How fast is bench/bench_import.py's to say: a test never times the machine it runs on.
    lines = [HEADER.strip() + ",area"]
    lines += [
        f"Council {i % 400},Person {i},person{i}@council{i % 400}.gov.uk,"
        f'{"want" if i % 2 else "offer"},"Topic {i}, with a comma",IM'
        for i in range(100_000)
    ]
    parsed = parse_text("\n".join(lines) + "\n")
    assert len(parsed.rows) == 100_000 and parsed.problems == []
    assert parsed.rows[-1].text == "Topic 99999, with a comma"


# --- the bundled example ---


def test_the_example_workshop_parses_cleanly_and_every_council_resolves() -> None:
    parsed = parse_workshop(EXAMPLE)
    assert parsed.problems == []
    assert parsed.duplicates_in_file == 0
    assert all(r.area in {"IM", "CF", "CO", "OL"} for r in parsed.rows)
    directory = CouncilDirectory.reference()
    councils: dict[str, set[str]] = {}
    for row in parsed.rows:
        found = directory.resolve(row.council)
        assert found.record is not None, row.council
        # Each contact's email is at the council's own domain.
        assert directory.by_email(row.email).record == found.record, row.email
        councils.setdefault(found.record.name, set()).add(row.kind)
    assert 16 <= len(councils) <= 20
    assert all(kinds == {"want", "offer"} for kinds in councils.values())
    regions = {directory.resolve(name).record.region for name in councils}  # type: ignore[union-attr]
    assert {"London", "South West", "Scotland", "Wales", "Northern Ireland"} <= regions
    assert len(regions) == 12


def test_the_example_workshop_holds_the_network_s_own_topics() -> None:
    rows = parse_workshop(EXAMPLE).rows
    directory = CouncilDirectory.reference()

    def offers_of(short_name: str) -> str:
        return " ".join(
            r.text.lower()
            for r in rows
            if r.kind == "offer" and directory.resolve(r.council).record.short_name == short_name  # type: ignore[union-attr]
        )

    assert "information asset register" in offers_of("Devon")
    assert "mediated" in offers_of("Tower Hamlets")
    assert "frontline academy" in offers_of("Lewisham")
    assert "community (area) planning" in offers_of("Wiltshire")
