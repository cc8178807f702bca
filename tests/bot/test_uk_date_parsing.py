"""Reading the dates people in the UK type: day before month, the next one when no year."""

from __future__ import annotations

from datetime import date

import pytest

from bot.kernel.uk_dates import UnreadableDate, parse_uk_date

WEDNESDAY = date(2027, 6, 16)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("5 January", date(2028, 1, 5)),
        ("5th Jan", date(2028, 1, 5)),
        ("the 5th of January", date(2028, 1, 5)),
        ("Friday 18 June", date(2027, 6, 18)),
        ("16 June", date(2027, 6, 16)),  # today: the caller decides whether that will do
        ("January 5", date(2028, 1, 5)),
        ("5 January 2029", date(2029, 1, 5)),
        ("05/01/2027", date(2027, 1, 5)),
        ("05/01/28", date(2028, 1, 5)),
        ("5/1", date(2028, 1, 5)),
        ("5.1.2028", date(2028, 1, 5)),
        ("2028-01-05", date(2028, 1, 5)),
        ("today", WEDNESDAY),
        ("tomorrow", date(2027, 6, 17)),
        ("next Monday", date(2027, 6, 21)),
        ("Wednesday", date(2027, 6, 23)),  # the coming one, never today
        ("next week", date(2027, 6, 21)),
        ("in 2 weeks", date(2027, 6, 30)),
        ("in a month", date(2027, 7, 16)),
        ("29 February", date(2028, 2, 29)),  # the next one there is
        ("  5   JANUARY ", date(2028, 1, 5)),
    ],
)
def test_dates_people_type(typed: str, meant: date) -> None:
    assert parse_uk_date(typed, WEDNESDAY) == meant


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Which date?"),
        ("soon", "I can't read “soon” as a date."),
        ("31/02/2028", "“31/02/2028” isn't a real date."),
        ("32 January", "“32 January” isn't a real date."),
        ("5/13", "“5/13” isn't a real date."),
        ("next Funday", "I can't read “next Funday” as a date."),
    ],
)
def test_what_is_not_a_date_is_explained(typed: str, says: str) -> None:
    with pytest.raises(UnreadableDate) as err:
        parse_uk_date(typed, WEDNESDAY)
    assert str(err.value).startswith(says)


@pytest.mark.parametrize(
    ("today", "meant"),
    [
        (date(2027, 1, 31), date(2027, 2, 28)),  # no 31 February: the month's last day
        (date(2028, 1, 31), date(2028, 2, 29)),  # a leap year's
        (date(2027, 12, 15), date(2028, 1, 15)),  # into the next year
    ],
)
def test_in_a_month_ends_in_the_month_it_names(today: date, meant: date) -> None:
    assert parse_uk_date("in a month", today) == meant


def test_a_day_no_month_has_is_refused_without_a_year_too() -> None:
    with pytest.raises(UnreadableDate, match="“31 February” isn't a real date."):
        parse_uk_date("31 February", WEDNESDAY)
