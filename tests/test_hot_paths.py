"""The hot paths written at C speed make exactly what their plain reference versions make.

Three functions keep speed idioms (``tuple.__new__``, column zips, rows rendered as XML
text), each beside a plain version it is tested against here or in its own tests:

* :func:`reconcile.read.declarations.declarations_from_columns` (declarations_from_columns_plain);
* :func:`reconcile.calculate.attribution_records` (attribution_records_plain);
* :func:`reconcile.fastrows.stream_rows`, against XlsxWriter's own cell API:
  tests/report/test_fastrows.py, test_write.py and test_golden.py compare the bytes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import repeat

from hypothesis import given
from hypothesis import strategies as st

from reconcile.calculate import attribution_records, attribution_records_plain
from reconcile.model import Attribution, Declaration, StatementKey
from reconcile.read.declarations import (
    declarations_from_columns,
    declarations_from_columns_plain,
)

FIELDS = len(Declaration._fields)
values = st.one_of(st.none(), st.text(max_size=4), st.integers(), st.booleans())


def _declaration(i: int, partner: str | None = "dp1") -> Declaration:
    row = dict.fromkeys(Declaration._fields)
    row.update(declaration_id=f"d{i}", participant_id=f"p{i}", participant_type="ect",
               declaration_type="started", delivery_partner_id=partner,
               delivery_partner_name=partner and partner.upper())
    return Declaration(**row)


def test_declarations_from_columns_by_hand():
    names = Declaration._fields
    columns = [repeat("same", 2), *([f"{name}1", f"{name}2"] for name in names[1:])]
    made = declarations_from_columns(columns)
    assert [type(d) for d in made] == [Declaration, Declaration]
    assert made[0][0] == made[1][0] == "same"
    assert made[1][1:] == tuple(f"{name}2" for name in names[1:])
    assert made == declarations_from_columns_plain(
        [["same", "same"], *([f"{name}1", f"{name}2"] for name in names[1:])])


@given(st.lists(st.tuples(values, values, values), max_size=6))
def test_declarations_from_columns_equal_the_plain_version(rows):
    columns = [[row[j % 3] for row in rows] for j in range(FIELDS)]
    made = declarations_from_columns(columns)
    assert made == declarations_from_columns_plain(columns)
    assert all(type(d) is Declaration for d in made)


KEY = StatementKey("Northbrook", 2024, "May 2024")


def test_attribution_records_by_hand():
    declarations = [_declaration(0), _declaration(1, None), _declaration(2)]
    made = attribution_records(declarations, [2, 0], [Decimal("119.40"), Decimal("119.39")],
                               KEY, "output", "A", False, {0: Decimal("100.00")})
    assert made == [
        Attribution("d2", KEY, "output", "ect", "started", "A", Decimal("119.40"),
                    Decimal(0), False, "dp1", "DP1", "p2"),
        Attribution("d0", KEY, "output", "ect", "started", "A", Decimal("119.39"),
                    Decimal("100.00"), False, "dp1", "DP1", "p0"),
    ]
    assert made == attribution_records_plain(
        declarations, [2, 0], [Decimal("119.40"), Decimal("119.39")], KEY, "output", "A",
        False, {0: Decimal("100.00")})
    assert all(type(a) is Attribution for a in made)


money = st.decimals(min_value=-1000, max_value=1000, places=2)


@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.integers(0, n - 1), max_size=8),
    st.dictionaries(st.integers(0, n - 1), money, max_size=n))),
    st.sampled_from(("output", "clawback")), st.sampled_from((None, "A", "D")),
    st.booleans(), st.data())
def test_attribution_records_equal_the_plain_version(shape, kind, band, unpaid, data):
    n, members, uplifts = shape
    declarations = [_declaration(i, data.draw(st.sampled_from((None, "dp1", "dp2"))))
                    for i in range(n)]
    fees = data.draw(st.lists(money, min_size=len(members), max_size=len(members)))
    made = attribution_records(declarations, members, fees, KEY, kind, band, unpaid, uplifts)
    assert made == attribution_records_plain(declarations, members, fees, KEY, kind, band,
                                             unpaid, uplifts)
    assert all(type(a) is Attribution for a in made)
    assert len(made) == len(members)


def test_a_declaration_made_from_columns_is_an_ordinary_declaration():
    made = declarations_from_columns([[v] for v in _declaration(7)])
    assert made == [_declaration(7)]
    assert made[0]._replace(state="paid").state == "paid"
    assert isinstance(made[0].declaration_date, (dt.datetime, type(None)))
