"""Cell parsers: what users type in spreadsheets, read to one value or a clear problem."""

import datetime as dt
from decimal import Decimal

import pytest

from reconcile.read import values
from reconcile.read.values import BadValue

UTC = dt.timezone.utc  # noqa: UP017 (runs on 3.10)


@pytest.mark.parametrize("raw, expected", [
    ("2023-10-01", dt.datetime(2023, 10, 1, tzinfo=UTC)),
    (" 2023-10-01 ", dt.datetime(2023, 10, 1, tzinfo=UTC)),
    ("2023-10-01T09:30:00Z", dt.datetime(2023, 10, 1, 9, 30, tzinfo=UTC)),
    ("2023-10-01T09:30:00.123456Z", dt.datetime(2023, 10, 1, 9, 30, 0, 123456, tzinfo=UTC)),
    # RFC 3339 offsets become UTC: 09:30 in BST is 08:30 UTC
    ("2023-10-01T09:30:00+01:00", dt.datetime(2023, 10, 1, 8, 30, tzinfo=UTC)),
    ("2023-10-01T00:30:00+01:00", dt.datetime(2023, 9, 30, 23, 30, tzinfo=UTC)),
    ("2023-10-01 09:30:00", dt.datetime(2023, 10, 1, 9, 30, tzinfo=UTC)),
    ("01/10/2023", dt.datetime(2023, 10, 1, tzinfo=UTC)),  # UK day/month/year
    ("1/2/2024", dt.datetime(2024, 2, 1, tzinfo=UTC)),
    ("01/10/2023 14:05", dt.datetime(2023, 10, 1, 14, 5, tzinfo=UTC)),
    (dt.datetime(2023, 10, 1, 9, 30), dt.datetime(2023, 10, 1, 9, 30, tzinfo=UTC)),
    (dt.date(2023, 10, 1), dt.datetime(2023, 10, 1, tzinfo=UTC)),
    # Excel serials count days from 1899-12-30 (Excel's 1900 system): 45200 is 2023-10-01
    (45200.0, dt.datetime(2023, 10, 1, tzinfo=UTC)),
    (45200, dt.datetime(2023, 10, 1, tzinfo=UTC)),
    (45200.25, dt.datetime(2023, 10, 1, 6, 0, tzinfo=UTC)),
    ("", None), (None, None), ("   ", None),
])
def test_dates_in_every_form_become_aware_utc(raw, expected):
    assert values.parse_datetime(raw) == expected


@pytest.mark.parametrize("raw, says", [
    ("2023-13-01", "not a real date"),
    ("31/02/2024", "not a real date"),
    ("10/13/2023", "write it as 2023-10-13"),
    ("5th Oct 2023", "not a date this tool can read"),
    ("yesterday", "not a date this tool can read"),
    (12.0, "is a number, not a date"),
    (True, "not a date"),
    (dt.time(9, 30), "time of day without a date"),
])
def test_bad_dates_say_what_and_how_to_fix(raw, says):
    with pytest.raises(BadValue) as caught:
        values.parse_datetime(raw)
    assert says in caught.value.what + caught.value.fix
    assert "2023-10-01" in caught.value.fix or "write it as" in caught.value.what + caught.value.fix


@pytest.mark.parametrize("raw, expected", [
    (True, True), (False, False), ("TRUE", True), ("false", False), (" Yes ", True),
    ("no", False), ("Y", True), ("n", False), ("1", True), ("0", False), (1.0, True),
    (0, False), ("", None), (None, None),
])
def test_booleans(raw, expected):
    assert values.parse_bool(raw) is expected


@pytest.mark.parametrize("raw", ["maybe", "2", 2.0, "x"])
def test_bad_booleans(raw):
    with pytest.raises(BadValue, match="not true or false"):
        values.parse_bool(raw)


@pytest.mark.parametrize("raw, expected", [
    ("2022", 2022), (2022.0, 2022), (2022, 2022), (" 2022 ", 2022), ("2022.0", 2022), ("", None),
])
def test_cohorts(raw, expected):
    assert values.parse_cohort(raw) == expected


@pytest.mark.parametrize("raw, says", [
    ("2022.5", "not a whole number"), (2022.5, "not a whole number"),
    ("twenty", "not a whole number"), ("22", "not a cohort start year"), (True, "whole number"),
])
def test_bad_cohorts(raw, says):
    with pytest.raises(BadValue, match=says):
        values.parse_cohort(raw)


def test_text_strips_spaces_and_reads_number_cells_as_typed():
    assert values.parse_text("  d-1  ") == "d-1"
    assert values.parse_text("   ") is None
    assert values.parse_text(1234567.0) == "1234567"  # a TRN in a number cell
    assert values.parse_text(12.5) == "12.5"


def test_words_accept_underscores_spaces_and_case_and_suggest_the_nearest():
    states = {values.word_key(s): s for s in ("paid", "awaiting-clawback", "clawed-back")}
    assert values.parse_word("Awaiting_Clawback ", states, "a state") == "awaiting-clawback"
    assert values.parse_word("clawed back", states, "a state") == "clawed-back"
    with pytest.raises(BadValue) as caught:
        values.parse_word("clawedback", states, "a declaration state")
    assert "'clawedback' is not a declaration state" in caught.value.what
    assert "did you mean 'clawed-back'?" in caught.value.what
    assert "paid, awaiting-clawback, clawed-back" in caught.value.fix


@pytest.mark.parametrize("raw, expected", [
    ("1194.00", Decimal("1194.00")), (119.4, Decimal("119.4")), ("-119.40", Decimal("-119.40")),
    ("£1,234.50", Decimal("1234.50")), (0.1, Decimal("0.1")), (100, Decimal(100)), ("", None),
])
def test_money_is_exact(raw, expected):
    assert values.parse_money(raw) == expected


def test_a_float_cell_is_read_through_its_repr_not_its_binary_value():
    # Decimal(0.1) would be 0.1000000000000000055511151231257827...
    assert str(values.parse_money(0.1)) == "0.1"


def test_statement_name_typed_into_excel_becomes_a_date_and_is_read_back():
    assert values.parse_statement_name(dt.datetime(2023, 5, 1)) == "May 2023"
    assert values.parse_statement_name("  May   2023 ") == "May 2023"


STATES = ("submitted", "eligible", "payable", "paid", "voided", "ineligible",
          "awaiting-clawback", "clawed-back")


@pytest.mark.parametrize("typed, meant", [
    # difflib ties 'payed' with 'payable' and 'paid' (0.667 each); 'paid' is 2 edits away
    ("payed", "paid"), ("payd", "paid"), ("payble", "payable"), ("elegible", "eligible"),
    ("void", "voided"), ("submited", "submitted"), ("clawedback", "clawed-back"),
    ("awaiting-clawbak", "awaiting-clawback"),
])
def test_a_misspelt_state_suggests_the_word_meant(typed, meant):
    assert values.closest(typed, STATES) == meant


def test_payed_says_did_you_mean_paid():
    states = {values.word_key(s): s for s in STATES}
    with pytest.raises(BadValue) as caught:
        values.parse_word("Payed", states, "a declaration state")
    assert caught.value.what == "'Payed' is not a declaration state — did you mean 'paid'?"


def test_nothing_close_suggests_nothing():
    assert values.closest("xyz", STATES) is None
