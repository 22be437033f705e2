"""A dashboard table's rows as the page draws them (dashboards.templatetags.dashboards.dash_rows):
each cell the value Django's own filters write for its kind, whatever the fast paths skip."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.formats import localize
from django.utils.html import conditional_escape

from dashboards.tables import COUNT, DATE, MONEY, PERCENT, TEXT, Column, DashTable, Row
from dashboards.templatetags.dashboards import dash_rows, dash_total
from npl_recovery.templatetags.formatting import money

VALUES = [
    {"t": "张伟 <b>", "m": Decimal("1234567.891"), "c": 1234567, "p": 12.345, "d": datetime.date(2026, 12, 2)},
    {"t": "A & B", "m": Decimal("-0.004"), "c": -5, "p": Decimal("0"), "d": None},
    {"t": None, "m": Decimal("-1234.5"), "c": 0, "p": None, "d": datetime.date(2026, 1, 31)},
    {"t": "x", "m": 0, "c": None, "p": 100, "d": datetime.date(2025, 2, 28)},
    {"t": "y", "m": None, "c": True, "p": -3.3, "d": None},
]
COLUMNS = [Column("t", "T", TEXT), Column("m", "M", MONEY), Column("c", "C", COUNT), Column("p", "P", PERCENT),
           Column("d", "D", DATE)]  # fmt: skip


def _expected_cell(v, kind: str, places: int) -> str:
    """The cell as the per-cell template drew it: Django's filters."""
    if v is None:
        return "—"
    if kind == MONEY:
        return conditional_escape(money(v))
    if kind == COUNT:
        return conditional_escape(intcomma(v))
    if kind == PERCENT:
        return f"{conditional_escape(floatformat(v, places))}%"
    if kind == DATE:
        return conditional_escape(date_filter(v, "Y-m-d"))
    return conditional_escape(v)


def _expected_rows(table: DashTable, places: int) -> str:
    out = []
    for row in table.rows:
        out.append("<tr>")
        for i, c in enumerate(table.columns):
            v = row.values.get(c.key)
            raw = "" if v is None else conditional_escape(localize(v, use_l10n=False))
            out.append(f'<td data-value="{raw}">' if c.kind in (TEXT, DATE) else f'<td class="num" data-value="{raw}">')
            href = row.links.get(c.key) or (row.url if i == 0 else "")
            out.append(f'<a href="{conditional_escape(href)}">' if href else "")
            out.append(_expected_cell(v, c.kind, places))
            out.append("</a>" if href else "")
            out.append("</td>")
        out.append("</tr>")
    return "".join(out)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_rows_drawn_in_python_are_what_djangos_filters_write(language: str) -> None:
    rows = [Row(values=v, url=f"/cases/{i}/?a=1&b=2", links={"c": "/x/"} if i == 1 else {}) for i, v in
            enumerate(VALUES)]  # fmt: skip
    table = DashTable(name="t", title="T", columns=COLUMNS, rows=rows)
    with translation.override(language):
        assert dash_rows(table, 2) == _expected_rows(table, 2)
        total = Row(values=VALUES[0])
        num = ' class="num"'
        expected_total = "".join(
            f"<th{'' if c.kind == TEXT else num}>{_expected_cell(VALUES[0][c.key], c.kind, 1)}</th>" for c in COLUMNS
        )
        assert dash_total(table, total) == expected_total
