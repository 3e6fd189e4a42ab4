"""Cell parsers (read stage): one raw cell value in, one typed value out, or :class:`BadValue`.

Raw values come from python-calamine (``str``, ``float``, ``int``, ``bool``,
``datetime.date``/``datetime.datetime`` for date-formatted cells, ``""`` for an
empty cell), from the csv module (always ``str``) or from JSON (``str``, ``int``,
``bool``, ``None``). Every parser accepts all of these where the meaning is clear,
and raises :class:`BadValue` carrying *what is wrong* and *how to fix it*; the
caller adds where (file, sheet, row, column).

The parsers are pure and cheap, and the table converters memoise them on the raw
value (most columns hold few distinct values), so a million rows cost little more
than the distinct values.

>>> parse_datetime("2023-10-01T09:30:00+01:00")
datetime.datetime(2023, 10, 1, 8, 30, tzinfo=datetime.timezone.utc)
>>> parse_datetime("01/10/2023")
datetime.datetime(2023, 10, 1, 0, 0, tzinfo=datetime.timezone.utc)
>>> parse_datetime("06 Mar 2025") == parse_datetime("6-Mar-25") == parse_datetime("06/03/2025")
True
>>> parse_datetime(45200.5)
datetime.datetime(2023, 10, 1, 12, 0, tzinfo=datetime.timezone.utc)
>>> parse_bool(" Yes "), parse_bool(0.0), parse_bool("")
(True, False, None)
>>> parse_int("2022"), parse_int(2022.0)
(2022, 2022)
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from reconcile import money

UTC = dt.timezone.utc  # noqa: UP017 (dt.UTC is 3.11+; we run on 3.10)
#: Excel's day 0 (the 1900 date system, with its fictitious 29 Feb 1900 folded in).
EXCEL_EPOCH = dt.datetime(1899, 12, 30, tzinfo=UTC)
#: Serial numbers that can be dates a declaration carries: 1 Jan 1950 .. 31 Dec 2199.
EXCEL_SERIAL_RANGE = (18264, 109574)


class BadValue(ValueError):
    """A cell that cannot be read: ``what`` is wrong, ``fix`` says how to put it right."""

    def __init__(self, what: str, fix: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


def is_blank(value: object) -> bool:
    return value is None or (type(value) is str and not value.strip())


def show_value(value: object) -> str:
    """How a raw value is quoted in a message: text as typed, numbers without noise."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(str(int(value)))
    if isinstance(value, (dt.datetime, dt.date)):
        return repr(value.isoformat())
    text = value if isinstance(value, str) else str(value)
    if len(text) > SHOWN_AT_MOST:  # a pasted paragraph or a hostile value: its start
        return f"{text[:SHOWN_AT_MOST - 20]!r}... ({len(text):,} characters)"
    return repr(text)


#: the longest value a message quotes whole
SHOWN_AT_MOST = 80


def parse_text(value: object) -> str | None:
    """Text with surrounding spaces removed; blank → None; 12345.0 → '12345'."""
    if type(value) is str:
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadValue(f"{value!r} is not text", "type the value as text")
        # Spreadsheet number cells holding ids (TRN, URN) arrive as floats.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        raise BadValue(f"{show_value(value)} is a date, not text",
                       "format the cell as Text and type the value")
    if isinstance(value, dt.date):
        raise BadValue(f"{show_value(value)} is a date, not text",
                       "format the cell as Text and type the value")
    raise BadValue(f"{show_value(value)} is not text", "type the value as text")


_TRUE = frozenset({"true", "yes", "y", "1", "t", "1.0"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "0.0"})


def parse_bool(value: object) -> bool | None:
    """TRUE/FALSE, yes/no, y/n, 1/0 in any case; blank → None (the caller picks the default)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    if isinstance(value, (int, float)):
        if value == 1:
            return True
        if value == 0:
            return False
    elif type(value) is str:
        text = value.strip().lower()
        if not text:
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise BadValue(f"{show_value(value)} is not true or false",
                   "write TRUE or FALSE (yes/no and 1/0 are accepted too)")


def parse_int(value: object, example: str = "2022") -> int | None:
    """A whole number from 2022, 2022.0 or ' 2022 '; blank → None."""
    if isinstance(value, bool):
        raise BadValue(f"{show_value(value)} is not a whole number", f"write a number, e.g. {example}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise BadValue(f"{value!r} is not a whole number", f"write a whole number, e.g. {example}")
    if value is None:
        return None
    if type(value) is str:
        text = value.strip().replace(",", "")
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = Decimal(text)  # "2022.0" from a spreadsheet; exact, never a float
        except InvalidOperation:
            number = None
        if number is not None and number.is_finite() and number == number.to_integral_value():
            return int(number)
    raise BadValue(f"{show_value(value)} is not a whole number", f"write a whole number, e.g. {example}")


def parse_cohort(value: object) -> int | None:
    """A cohort is its start year: 2022, '2022', 2022.0."""
    year = parse_int(value, "2022")
    if year is not None and not 1900 <= year <= 2199:
        raise BadValue(f"{show_value(value)} is not a cohort start year",
                       "write the four-digit year the cohort started, e.g. 2022")
    return year


# --- dates -------------------------------------------------------------------------

_UK_DATE = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})$")
_ISO_LIKE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$")

# "06 Mar 2025", "6 March 2025", "6-Mar-25", "06-Mar-2025": how Excel and UK exports
# write a date as text (day, English month name, year of 2 or 4 digits; 25 is 2025)
_NAMED_MONTH_DATE = re.compile(
    r"(\d{1,2})[ \-/]+([A-Za-z]{3,9})\.?,?[ \-/]+(\d{4}|\d{2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december")), 1) for name in names}

_DATE_FIX = ("write the date as 2023-10-01 (or 2023-10-01T09:30:00Z, 01/10/2023 "
             "day/month/year, or 01 Oct 2023), or make it an Excel date cell")


def _from_serial(serial: int | float) -> dt.datetime:  # an Excel day number (a date, not money)
    low, high = EXCEL_SERIAL_RANGE
    if not low <= serial <= high:
        raise BadValue(f"{show_value(serial)} is a number, not a date", _DATE_FIX)
    # Round to the millisecond: Excel stores times as fractions of a day.
    return EXCEL_EPOCH + dt.timedelta(milliseconds=round(serial * 86_400_000))


def _aware(moment: dt.datetime, text: str | None = None) -> dt.datetime:
    # A moment without a zone (an Excel date cell, a plain date) is taken as UTC:
    # DfE's API writes every moment in UTC, and a date-only value means that day.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-01:00 is in the year 10000 in UTC
        raise BadValue(f"{text or moment.isoformat()!r} is outside the dates this tool can "
                       "read (years 1 to 9999, in UTC)", _DATE_FIX) from None


def _parse_date_text(text: str) -> dt.datetime:
    if text[:4].isdigit():
        try:  # the C parser first: RFC 3339 from the API (with 'Z' from Python 3.11)
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            pass  # the patterns below read the rest, or say what is wrong
        else:
            return _aware(moment, text)
    match = _ISO_DATE.match(text)
    if match:
        numbers = [int(part) for part in match.groups()]
        return _build(text, numbers[0], numbers[1], numbers[2])
    match = _ISO_LIKE.match(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        moment = _build(text, int(year), int(month), int(day), int(hour), int(minute),
                        int(second or 0), int((fraction or "0")[:6].ljust(6, "0")))
        if zone and zone not in ("Z", "z", "UTC"):
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            if offset >= dt.timedelta(hours=24):
                raise BadValue(f"{text!r} has an impossible time zone offset", _DATE_FIX)
            moment = moment.replace(tzinfo=dt.timezone(sign * offset))
        return _aware(moment, text)
    match = _NAMED_MONTH_DATE.match(text)
    if match:
        day, month_name, year, hour, minute, second = match.groups()
        month = _MONTHS.get(month_name.lower())
        if month is not None:
            full_year = int(year) + 2000 if len(year) == 2 else int(year)
            return _build(text, full_year, month, int(day), int(hour or 0), int(minute or 0),
                          int(second or 0))
    match = _UK_DATE.match(text)
    if match:
        day, month, year, hour, minute, second = match.groups()
        if int(month) > 12 and int(day) <= 12:
            raise BadValue(
                f"{text!r} is not a day/month/year date (there is no month {int(month)}); "
                "it looks like a US month/day/year date",
                f"write it as {year}-{int(day):02d}-{int(month):02d}")
        return _build(text, int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                      int(second or 0))
    raise BadValue(f"{text!r} is not a date this tool can read", _DATE_FIX)


def _build(text: str, year: int, month: int, day: int, hour: int = 0, minute: int = 0,
           second: int = 0, microsecond: int = 0) -> dt.datetime:
    try:
        return dt.datetime(year, month, day, hour, minute, second, microsecond, tzinfo=UTC)
    except ValueError as exc:
        raise BadValue(f"{text!r} is not a real date ({exc})", _DATE_FIX) from None


def parse_datetime(value: object) -> dt.datetime | None:
    """An aware UTC datetime from a date cell, an Excel serial number or date text.

    Text: RFC 3339 (``2023-10-01T09:30:00Z``, offsets converted to UTC), plain
    ``2023-10-01``, or UK ``01/10/2023`` (day/month/year, optional time). A date or
    a moment without a zone is taken as UTC. Blank → None.
    """
    if type(value) is str:
        text = value.strip()
        if not text:
            return None
        return _parse_date_text(text)
    if isinstance(value, dt.datetime):
        return _aware(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue(f"{show_value(value)} is not a date", _DATE_FIX)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise BadValue(f"{value!r} is not a date", _DATE_FIX)
        return _from_serial(value)
    if isinstance(value, dt.time):
        raise BadValue(f"{value.isoformat()!r} is a time of day without a date", _DATE_FIX)
    raise BadValue(f"{show_value(value)} is not a date", _DATE_FIX)


def parse_date(value: object) -> dt.date | None:
    """A calendar date (statement cut-off and payment dates); the UTC day of a moment."""
    moment = parse_datetime(value)
    return None if moment is None else moment.date()


# --- vocabulary words ----------------------------------------------------------------

def word_key(text: str) -> str:
    """Lower case, surrounding spaces off, ``_`` and spaces as ``-``: 'Awaiting_Clawback ' → 'awaiting-clawback'."""
    return re.sub(r"[\s_]+", "-", text.strip().lower())


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The nearest allowed word, for 'did you mean ...?'.

    Ranked by difflib's similarity (at least 0.6, as ``get_close_matches``), ties
    broken by the fewest single-letter edits, then the longest shared beginning,
    then the vocabulary's order. difflib alone ties short words: 'payed' is as
    similar to 'payable' as to 'paid' (0.667 each) and its tie-break (the larger
    string) picked 'payable'; 'paid' is two edits away, 'payable' four.

    >>> closest("payed", ["submitted", "eligible", "payable", "paid"])
    'paid'
    >>> closest("clawedback", ["paid", "clawed-back"])
    'clawed-back'

    Cheap on hostile input: each distinct word is compared once (memoised), a word
    far longer than every choice is not compared at all (it cannot be a typo of one),
    and difflib's quick upper bounds skip the choices that cannot reach 0.6.
    """
    options = tuple(choices)
    if not options or len(word) > 2 * max(map(len, options)) + 2:
        return None
    return _closest(word, options)


@functools.lru_cache(maxsize=4096)
def _closest(word: str, choices: tuple[str, ...]) -> str | None:
    ranked = []
    matcher = difflib.SequenceMatcher(None)
    matcher.set_seq2(word)  # the word's index is built once, as get_close_matches does
    for order, choice in enumerate(choices):
        matcher.set_seq1(choice)
        if matcher.real_quick_ratio() < 0.6 or matcher.quick_ratio() < 0.6:
            continue
        ratio = matcher.ratio()
        if ratio >= 0.6:
            ranked.append((-ratio, _edits(word, choice), -_shared_start(word, choice), order,
                           choice))
    if ranked:
        return min(ranked)[-1]
    squeezed = {c.replace("-", ""): c for c in choices}
    return squeezed.get(word.replace("-", ""))


def _edits(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions from ``a`` to ``b``."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _shared_start(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def parse_word(value: object, allowed: dict[str, str], what: str) -> str | None:
    """One of ``allowed`` (normalised key → canonical word); blank → None."""
    text = parse_text(value)
    if text is None:
        return None
    found = allowed.get(word_key(text))
    if found is not None:
        return found
    canonical = sorted(set(allowed.values()), key=list(allowed.values()).index)
    guess = closest(word_key(text), canonical)
    hint = f" — did you mean {guess!r}?" if guess else ""
    raise BadValue(f"{text!r} is not {what}{hint}",
                   "use one of: " + ", ".join(canonical))


# --- money and statement names ----------------------------------------------------------

def parse_money(value: object) -> Decimal | None:
    """An exact Decimal via :func:`reconcile.money.to_decimal` (floats via repr); blank → None."""
    if value is None or (type(value) is str and not value.strip()):
        return None
    try:
        return money.to_decimal(value)
    except money.MoneyError:
        raise BadValue(f"{show_value(value)} is not an amount of money",
                       "write a number such as 1194.00 or -119.40 (a leading £ and "
                       "thousands commas are fine)") from None


def money_parser(largest: Decimal | None) -> Callable[[object], Decimal | None]:
    """:func:`parse_money`, refusing an amount larger than ``largest`` either way
    (fees.yaml ``largest_amount``: a clawback by its size); ``None``: no bound."""
    if largest is None:
        return parse_money
    limit = money.described(largest)

    def parse(value: object) -> Decimal | None:
        amount = parse_money(value)
        if amount is not None and abs(amount) > largest:
            beyond = f"is more than {limit}" if amount > 0 else f"is below -{limit}"
            raise BadValue(f"{show_value(value)} {beyond}: the rules allow no larger amount "
                           "in one cell, either way (fees.yaml largest_amount)",
                           "check the cell: write the amount in pounds, e.g. 1194.00 or "
                           "-119.40 (a number this large is a typing or export mistake)")
        return amount

    return parse


def count_parser(largest: int | None, example: str = "12") -> Callable[[object], int | None]:
    """:func:`parse_int` for a count of declarations, refusing one larger than
    ``largest`` either way (fees.yaml ``largest_count``); ``None``: no bound."""
    def parse(value: object) -> int | None:
        count = parse_int(value, example)
        if count is not None and largest is not None and abs(count) > largest:
            raise BadValue(f"{show_value(value)} is more than {largest:,} declarations, the "
                           "largest count the rules allow on one line (fees.yaml "
                           "largest_count)", f"check the cell: write the line's count of "
                           f"declarations, e.g. {example}")
        return count

    return parse


def parse_statement_name(value: object) -> str | None:
    """A statement name such as 'May 2023'.

    Excel turns a typed "May 2023" into the date 1 May 2023; such a cell is read
    back as the name it was typed as.
    """
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value:%B} {value.year}"
    text = parse_text(value)
    return " ".join(text.split()) if text else None
