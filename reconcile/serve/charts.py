"""Charts for the pages, drawn on the server as SVG (no script, nothing from another site).

Stage: report (pure). In: a title and (label, expected, DfE) per statement, in date
order, and the money status of those that need checking. Out: SVG markup: a column per
side per statement, a zero line, a £ axis; DfE's column is left out where DfE gave no
figure; a statement that needs checking has a red mark above its columns and its label
in bold red. Colours are GOV.UK Frontend's blue and
orange (the legend beside the chart names them); every column has a ``<title>`` so a
pointer or a screen reader gets the figure, and the Summary table beside it carries
the same numbers as text.

>>> svg = bar_chart("T", [("May 2024", Decimal("100.00"), Decimal("90.00"))])
>>> svg.count("<rect"), "£100.00" in svg, "<circle" in svg
(2, True, False)
>>> flagged = bar_chart("T", [("May 2024", Decimal("100.00"), Decimal("90.00"), "Differs")])
>>> flagged.count("<circle"), "May 2024: Differs" in flagged
(1, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from reconcile.money import pounds

EXPECTED_COLOUR = "#1d70b8"  # GOV.UK Frontend blue
DFE_COLOUR = "#f47738"  # GOV.UK Frontend orange
AXIS_COLOUR = "#505a5f"
FLAG_COLOUR = "#ca3535"  # GOV.UK Frontend red

_HEIGHT, _TOP, _BOTTOM, _LEFT = 232, 24, 70, 84
_GROUP, _BAR = 34, 13


def _nice_step(span: float) -> float:
    """A round step for about four gridlines over ``span``."""
    raw = span / 4 or 1.0
    magnitude: int = 10 ** len(str(int(raw)))  # the power of ten just above raw
    for fraction in (0.1, 0.2, 0.25, 0.5, 1.0):
        if raw <= magnitude * fraction:
            return magnitude * fraction
    return float(magnitude)


def _short(label: str) -> str:
    """``October 2025`` -> ``Oct 25`` under a column."""
    parts = label.split()
    if len(parts) == 2 and parts[1].isdigit() and len(parts[1]) == 4:
        return f"{parts[0][:3]} {parts[1][2:]}"
    return label[:10]


Point = tuple[str, Decimal | None, Decimal | None] | tuple[str, Decimal | None,
                                                          Decimal | None, str | None]


def bar_chart(title: str, points: Sequence[Point]) -> str:
    """Columns of expected and DfE totals per statement, as an SVG element; a point's
    fourth item, when given, is the status of a statement that needs checking."""
    values = [float(v) for p in points for v in p[1:3] if v is not None] or [0.0]
    high, low = max(0.0, *values), min(0.0, *values)
    step = _nice_step(high - low)
    top = step * -(-high // step) if high > 0 else 0.0
    bottom = step * (low // step) if low < 0 else 0.0
    span = (top - bottom) or 1.0
    plot = _HEIGHT - _TOP - _BOTTOM
    width = max(320, _LEFT + max(1, len(points)) * _GROUP + 10)

    def y(value: float) -> float:
        return _TOP + (top - value) / span * plot

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {_HEIGHT}" '
           f'width="{width}" height="{_HEIGHT}" role="img" aria-label="{escape(title)}" '
           'font-family="arial, sans-serif">',
           f"<title>{escape(title)}</title>"]
    tick = bottom
    while tick <= top + step / 2:
        ty = y(tick)
        out.append(f'<line x1="{_LEFT}" y1="{ty:.1f}" x2="{width - 6}" y2="{ty:.1f}" '
                   f'stroke="#b1b4b6" stroke-width="{1.5 if tick == 0 else 0.5}"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="{AXIS_COLOUR}">{escape(pounds(Decimal(int(tick))).replace(".00", ""))}'
                   "</text>")
        tick += step
    zero = y(0.0)
    for i, point in enumerate(points):
        label, expected, dfe = point[0], point[1], point[2]
        flag = point[3] if len(point) > 3 else None
        x = _LEFT + i * _GROUP + 3
        if flag:
            out.append(f'<circle cx="{x + _BAR + 0.5}" cy="{_TOP - 13}" r="5" '
                       f'fill="{FLAG_COLOUR}"><title>{escape(label)}: {escape(flag)}</title>'
                       "</circle>")
        for offset, value, colour, side in ((0, expected, EXPECTED_COLOUR, "expected"),
                                            (_BAR + 1, dfe, DFE_COLOUR, "DfE")):
            if value is None:
                continue
            vy = y(float(value))
            top_y, height = min(vy, zero), max(abs(zero - vy), 0.5)
            out.append(f'<rect x="{x + offset}" y="{top_y:.1f}" width="{_BAR}" '
                       f'height="{height:.1f}" fill="{colour}"><title>{escape(label)}, {side}: '
                       f"{escape(pounds(value))}</title></rect>")
        lx, ly = x + _BAR, _HEIGHT - _BOTTOM + 12
        look = (f'fill="{FLAG_COLOUR}" font-weight="bold"' if flag
                else f'fill="{AXIS_COLOUR}"')
        out.append(f'<text x="{lx}" y="{ly}" font-size="11" {look} '
                   f'text-anchor="end" transform="rotate(-45 {lx} {ly})">'
                   f"{escape(_short(label))}</text>")
    out.append("</svg>")
    return "".join(out)
