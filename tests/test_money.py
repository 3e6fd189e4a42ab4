"""Money policy: Decimal only, half-up pennies, exact splits."""

from decimal import Decimal

import pytest

from reconcile import money


@pytest.mark.parametrize("text, expected", [
    ("1000", Decimal("1000")), ("£1,234.50", Decimal("1234.50")), (" 995 ", Decimal("995")),
    ("(12.00)", Decimal("-12.00")), (3, Decimal(3)), (0.1, Decimal("0.1")),
    ("1,234,567", Decimal("1234567")), ("-£2,000", Decimal("-2000")),
])
def test_to_decimal_reads_what_people_type(text, expected):
    assert money.to_decimal(text) == expected


@pytest.mark.parametrize("bad", ["abc", "", "nan", "1.2.3", True, None, [1],
                                 "9,66", "1.194,00", "1,0,0", "12,34,567"])
def test_to_decimal_refuses_junk(bad):
    with pytest.raises(money.MoneyError):
        money.to_decimal(bad)


def test_rounding_is_half_up_to_the_penny():
    assert money.round_money(Decimal("0.005")) == Decimal("0.01")
    assert money.round_money(Decimal("-0.005")) == Decimal("-0.01")
    assert money.round_money(Decimal("2.675")) == Decimal("2.68")  # a float would give 2.67
    assert money.show(Decimal("31500") / 29) == "1086.21"


def test_line_amount_rounds_once_per_line():
    # 3 x 89.595 = 268.785 -> 268.79, not 3 x 89.60 = 268.80
    assert money.line_amount(3, Decimal("89.595")) == Decimal("268.79")


def test_split_exactly_sums_to_the_total_deterministically():
    shares = money.split_exactly(Decimal("100.00"), [Decimal(1)] * 3)
    assert shares == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]
    assert sum(shares) == Decimal("100.00")
    negative = money.split_exactly(Decimal("-10.00"), [Decimal(2), Decimal(1)])
    assert negative == [Decimal("-6.67"), Decimal("-3.33")]
