"""Workshop CSV files: the flip-chart wants and offers of a network workshop, parsed and checked.

Pure: takes a text stream or a path, returns rows and problems; knows nothing of the database.
The contract (PRODUCT.md): header ``council,name,email,kind,text``; other columns are ignored
unless known (``area``, ``purpose``, ``link``).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.kernel.errors import InvalidInput
from bot.kernel.links import validate_link
from bot.reference.councils import email_domain, normalise_name

__all__ = [
    "AREAS",
    "KINDS",
    "PURPOSES",
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "ParsedWorkshop",
    "RowProblem",
    "WorkshopFormatError",
    "WorkshopRow",
    "clean_text",
    "parse_workshop",
]

REQUIRED_COLUMNS = ("council", "name", "email", "kind", "text")
OPTIONAL_COLUMNS = ("area", "purpose", "link")
KINDS = ("want", "offer")
# Knowledge areas by code, as the network names them.
AREAS: dict[str, str] = {
    "IM": "Information Management",
    "CF": "Customer Focus",
    "CO": "Communications",
    "OL": "Organisational Learning",
}
# Purposes by code, as the network names them.
PURPOSES: dict[str, str] = {
    "bau": "Business as usual",
    "efficiency": "Efficiency and effectiveness",
    "transformation": "Business transformation",
}

_AREA_WORDS: dict[str, str] = {
    **{code.lower(): code for code in AREAS},
    **{name.lower(): code for code, name in AREAS.items()},
    "comms": "CO",
}
_PURPOSE_WORDS: dict[str, str] = {
    "bau": "bau",
    "business as usual": "bau",
    "efficiency": "efficiency",
    "effectiveness": "efficiency",
    "efficiency effectiveness": "efficiency",
    "efficiency and effectiveness": "efficiency",
    "transformation": "transformation",
    "business transformation": "transformation",
}
# Flip charts are headed "Wants" and "Offers"; people copy that.
_KIND_WORDS = {"want": "want", "wants": "want", "offer": "offer", "offers": "offer"}
_MAX_NAME = 200
_MAX_COUNCIL = 200

# Control and invisible formatting characters (zero-width spaces, stray byte-order marks) that
# spreadsheets and copy-paste leave behind; tabs and newlines become spaces instead.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")
_WHITESPACE = re.compile(r"\s+")
_EMAIL = re.compile(r"^[^@\s<>(),;:\"]+@[^@\s<>(),;:\"]+$")


_NOT_UTF8 = "The file is not UTF-8 text{where}. In Excel, save it as 'CSV UTF-8 (Comma delimited)'."


class WorkshopFormatError(Exception):
    """The file as a whole cannot be read as a workshop CSV; the message says why."""


@dataclass(frozen=True, slots=True)
class WorkshopRow:
    """One want or offer from a workshop flip chart."""

    line: int
    council: str
    name: str
    email: str
    kind: str
    text: str
    area: str | None = None
    purpose: str | None = None
    link: str | None = None

    def fingerprint(self) -> str:
        """A stable identity for this post, so re-importing a workshop adds nothing twice."""
        parts = (
            normalise_name(self.council),
            self.email.strip().lower(),
            self.kind,
            _WHITESPACE.sub(" ", self.text).strip().casefold(),
        )
        # The unit separator cannot occur in cleaned text, so fields cannot run together.
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one line of a workshop file was not imported."""

    line: int
    reason: str


@dataclass
class ParsedWorkshop:
    """The rows that passed, the problems found, and how many exact repeats were dropped."""

    rows: list[WorkshopRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    duplicates_in_file: int = 0


def clean_text(value: str) -> str:
    """Strip control characters and collapse whitespace to single spaces."""
    return _WHITESPACE.sub(" ", _INVISIBLE.sub("", value)).strip()


def parse_workshop(
    stream: TextIO | Path,
    *,
    max_text: int = 1000,
    on_row: Callable[[int], None] | None = None,
) -> ParsedWorkshop:
    """Read a workshop CSV: good rows, a problem per bad row, exact repeats dropped."""
    if isinstance(stream, Path):
        data = stream.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise WorkshopFormatError(
                _NOT_UTF8.format(where=f" (a bad byte on line {line})")
            ) from error
        # newline="" lets the csv module see the line endings inside quoted fields.
        return _parse(io.StringIO(text, newline=""), max_text=max_text, on_row=on_row)
    return _parse(stream, max_text=max_text, on_row=on_row)


def _records(reader: Iterator[list[str]], line_of: Callable[[], int]) -> Iterator[list[str]]:
    """The reader's records, with decoding and CSV errors turned into format errors."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            # The stream decodes ahead of the reader, so the line is not known exactly.
            raise WorkshopFormatError(_NOT_UTF8.format(where="")) from error
        except csv.Error as error:
            raise WorkshopFormatError(
                f"The file cannot be read as CSV near line {line_of() + 1}: {error}."
            ) from error
        yield record


def _blank(cells: list[str]) -> bool:
    return not any(cell.replace("\ufeff", "").strip() for cell in cells)


def _header(cells: list[str]) -> dict[str, int]:
    names = [cell.replace("\ufeff", "").strip().lower() for cell in cells]
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        separator = "semicolons" if ";" in names[0] else "tabs"
        raise WorkshopFormatError(
            f"The columns are separated by {separator}, not commas. "
            "Save the file as 'CSV UTF-8 (Comma delimited)'."
        )
    columns: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in columns and name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS):
            raise WorkshopFormatError(f"The header names the column '{name}' twice.")
        columns.setdefault(name, index)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        plural = "column" if len(missing) == 1 else "columns"
        raise WorkshopFormatError(
            f"The header is missing the {plural} {listed}. "
            f"It must include {', '.join(REQUIRED_COLUMNS)}."
        )
    return columns


def _parse(
    stream: TextIO, *, max_text: int, on_row: Callable[[int], None] | None
) -> ParsedWorkshop:
    reader = csv.reader(stream)
    records = _records(reader, lambda: reader.line_num)
    columns: dict[str, int] | None = None
    header_cells: list[str] = []
    for cells in records:
        if not _blank(cells):
            # Spreadsheets leave empty cells after the last named column.
            header_cells = cells
            while header_cells and _blank(header_cells[-1:]):
                header_cells = header_cells[:-1]
            columns = _header(header_cells)
            break
    if columns is None:
        raise WorkshopFormatError(
            "The file is empty. It needs a header line: " + ",".join(REQUIRED_COLUMNS) + "."
        )
    width = max(columns.values()) + 1
    header_width = max(width, len(header_cells))
    parsed = ParsedWorkshop()
    seen: set[str] = set()
    count = 0
    last_line = reader.line_num
    for cells in records:
        # A record starts on the line after the previous one ended (quoted newlines span lines).
        line = last_line + 1
        last_line = reader.line_num
        if _blank(cells):
            continue
        count += 1
        row = _check(cells, line, columns, width, header_width, max_text, parsed.problems)
        if row is not None:
            fingerprint = row.fingerprint()
            if fingerprint in seen:
                parsed.duplicates_in_file += 1
            else:
                seen.add(fingerprint)
                parsed.rows.append(row)
        if on_row is not None:
            on_row(count)
    return parsed


def _check(
    cells: list[str],
    line: int,
    columns: dict[str, int],
    width: int,
    header_width: int,
    max_text: int,
    problems: list[RowProblem],
) -> WorkshopRow | None:
    """One record as a row, or None after noting each of its problems."""
    found: list[str] = []

    def problem(reason: str) -> None:
        found.append(reason)
        problems.append(RowProblem(line, f"line {line}: {reason}"))

    # Spreadsheets pad rows with empty trailing cells; only non-empty extras are a problem.
    while len(cells) > header_width and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) > header_width:
        problem(
            f"it has {len(cells)} fields but the header has {header_width}; "
            "is there a comma in the text that needs quotes around it?"
        )
        return None
    if len(cells) <= max(columns[name] for name in REQUIRED_COLUMNS):
        problem(
            f"it has {len(cells)} field{'s' if len(cells) != 1 else ''} "
            f"but the header has {header_width}; is a comma missing?"
        )
        return None
    # Hand-written files may leave off trailing optional cells; read those as empty.
    cells = cells + [""] * (width - len(cells))

    def get(name: str) -> str:
        index = columns.get(name)
        return clean_text(cells[index]) if index is not None else ""

    council, name, email, kind_typed, text = (get(column) for column in REQUIRED_COLUMNS)
    if not council:
        problem("the council is missing")
    elif len(council) > _MAX_COUNCIL:
        problem(f"the council is {len(council):,} characters long; the limit is {_MAX_COUNCIL}")
    if not name:
        problem("the name is missing")
    elif len(name) > _MAX_NAME:
        problem(f"the name is {len(name):,} characters long; the limit is {_MAX_NAME}")
    if not email:
        problem("the email address is missing")
    elif not _EMAIL.match(email) or email_domain(email) is None:
        problem(f"'{email}' is not an email address")
    kind = _KIND_WORDS.get(kind_typed.lower())
    if kind is None:
        if not kind_typed:
            problem("kind is missing; it must be 'want' or 'offer'")
        else:
            guess = difflib.get_close_matches(kind_typed.lower(), KINDS, n=1, cutoff=0.5)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            problem(f"kind must be 'want' or 'offer', not '{kind_typed}'{hint}")
    if not text:
        problem("the text is missing")
    elif len(text) > max_text:
        problem(f"the text is {len(text):,} characters long; the limit is {max_text:,}")
    area = _area(get("area"), problem)
    purpose = _purpose(get("purpose"), problem)
    link = _link(get("link"), problem)
    if found or kind is None:
        return None
    return WorkshopRow(
        line=line,
        council=council,
        name=name,
        email=email,
        kind=kind,
        text=text,
        area=area,
        purpose=purpose,
        link=link,
    )


def _area(value: str, problem: Callable[[str], None]) -> str | None:
    if not value:
        return None
    code = _AREA_WORDS.get(value.lower())
    if code is None:
        allowed = ", ".join(f"{code} ({name})" for code, name in AREAS.items())
        problem(f"area must be one of {allowed}, not '{value}'")
    return code


def _purpose(value: str, problem: Callable[[str], None]) -> str | None:
    if not value:
        return None
    words = " ".join(re.sub(r"[/&,+-]", " ", value.lower().replace("&", " and ")).split())
    code = _PURPOSE_WORDS.get(words)
    if code is None:
        problem(
            "purpose must be 'business as usual' (bau), 'efficiency/effectiveness' "
            f"(efficiency) or 'business transformation' (transformation), not '{value}'"
        )
    return code


def _link(value: str, problem: Callable[[str], None]) -> str | None:
    if not value:
        return None
    try:
        return validate_link(value)
    except InvalidInput as bad:
        reason = str(bad)
        problem(f"the link '{value}' can't be used: {reason[:1].lower()}{reason[1:]}")
        return None
