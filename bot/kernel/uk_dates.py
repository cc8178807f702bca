"""Dates as people in the UK type them: "5 January", "05/01/2027", "next Monday", "tomorrow".

Day before month, always: 05/01/2027 is the fifth of January. A date typed without a year is
the next one on or after today.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

__all__ = ["UnreadableDate", "parse_uk_date"]

MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: number
    for number, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}

_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_DAY_MONTH = re.compile(rf"^(?:[a-z]+ )?{_ORDINAL}(?: of)? ([a-z]+)\.?(?: (\d{{4}}))?$")
_MONTH_DAY = re.compile(rf"^([a-z]+)\.? {_ORDINAL}(?: (\d{{4}}))?$")
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_IN = re.compile(r"^in (\d{1,3}|a|an|one|two|three|four) (day|week|month)s?$")
_SMALL = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4}


class UnreadableDate(ValueError):
    """The text is not a date we can read; the message says what would be."""


def _unreadable(text: str) -> UnreadableDate:
    return UnreadableDate(
        f"I can't read “{text}” as a date. Try “5 January”, “next Monday” or DD/MM/YYYY."
    )


def _make(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise UnreadableDate(f"“{text}” isn't a real date.") from None


def _next_on_or_after(today: date, month: int, day: int, text: str) -> date:
    """The next ``day`` of ``month`` on or after today (29 February: the next leap year's)."""
    for year in range(today.year, today.year + 9):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found >= today:
            return found
    raise UnreadableDate(f"“{text}” isn't a real date.")


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day (31 January + 1: 28 February)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_uk_date(text: str, today: date) -> date:
    """The date ``text`` names, read as people in the UK write dates; UnreadableDate if none.

    ``today`` is the UK's today (the caller's clock), so "tomorrow" and "next Monday" are
    relative to it.
    """
    raw = " ".join(text.split())
    words = " ".join(raw.lower().replace(",", " ").split())
    if not words:
        raise UnreadableDate("Which date? For example “5 January” or “next Monday”.")
    if words == "today":
        return today
    if words == "tomorrow":
        return today + timedelta(days=1)
    if words in WEEKDAYS or (words.startswith(("next ", "this ")) and words[5:] in WEEKDAYS):
        # "Monday", "this Monday" and "next Monday" all name the coming Monday (never today).
        target = WEEKDAYS[words.split()[-1]]
        ahead = (target - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if words == "next week":
        return today + timedelta(days=7 - today.weekday())  # the coming Monday
    if m := _IN.match(words):
        count = int(m.group(1)) if m.group(1).isdigit() else _SMALL[m.group(1)]
        unit = m.group(2)
        if unit == "day":
            return today + timedelta(days=count)
        if unit == "week":
            return today + timedelta(weeks=count)
        return _add_months(today, count)
    if m := _ISO.match(words):
        return _make(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw)
    if m := _NUMERIC.match(words):
        day, month = int(m.group(1)), int(m.group(2))
        if not m.group(3):
            return _next_on_or_after(today, month, day, raw)
        year = int(m.group(3))
        return _make(year + 2000 if year < 100 else year, month, day, raw)
    for pattern, day_group, month_group in ((_DAY_MONTH, 1, 2), (_MONTH_DAY, 2, 1)):
        m = pattern.match(words)
        if m and m.group(month_group) in MONTHS:
            day, month = int(m.group(day_group)), MONTHS[m.group(month_group)]
            if m.group(3):
                return _make(int(m.group(3)), month, day, raw)
            return _next_on_or_after(today, month, day, raw)
    raise _unreadable(raw)
