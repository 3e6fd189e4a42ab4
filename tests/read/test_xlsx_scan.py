"""The sheet-XML scan that finds what calamine cannot show: formulas with no saved value."""

from reconcile.read.sheetscan import FORMULA as _FORMULA
from reconcile.read.sheetscan import NAMESPACED_FORMULA as _NAMESPACED_FORMULA
from reconcile.read.sheetscan import NO_CACHED_VALUE as _NO_CACHED_VALUE
from reconcile.read.sheetscan import letters_to_index


def cells(xml: bytes) -> list[str]:
    return [m.group(1).decode() for m in _NO_CACHED_VALUE.finditer(xml)]


def test_formulas_without_saved_values_are_found_and_saved_ones_are_not():
    xml = (b'<row r="2"><c r="A2"><f>1+1</f></c>'          # no <v>: found
           b'<c r="B2" t="str"><f>A2&amp;"x"</f><v></v></c>'  # empty <v>: found
           b'<c r="C2"><f t="shared" si="0"/></c>'            # shared formula, no value: found
           b'<c r="D2"><f>1+1</f><v>2</v></c>'                # saved value 2: fine
           b'<c r="E2" s="1"><f t="shared" si="0"/><v>2</v></c>'  # saved: fine
           b'<c r="F2" t="inlineStr"><is><t>f> not a formula</t></is></c></row>')
    assert cells(xml) == ["A2", "B2", "C2"]
    assert _FORMULA.search(xml)


def test_namespaced_cells_are_found_too():
    xml = b'<x:row r="3"><x:c r="AB3"><x:f>SUM(A1:A2)</x:f><x:v/></x:c></x:row>'
    assert cells(xml) == ["AB3"]
    assert not _FORMULA.search(xml) and _NAMESPACED_FORMULA.search(xml)


def test_column_letters():
    assert [letters_to_index(c) for c in ("A", "Z", "AA", "AZ", "XFD")] == [0, 25, 26, 51, 16383]
