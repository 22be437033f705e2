from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.serializers.json import DjangoJSONEncoder
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.utils.formats import localize
from django.utils.html import conditional_escape as esc
from django.utils.html import json_script
from django.utils.safestring import mark_safe

from npl_recovery.i18n import format_amount, number_separators

register = template.Library()


@register.filter
def get_item(mapping: dict | None, key: str) -> Any:
    return (mapping or {}).get(key)


@register.simple_tag
def chart(element_id: str, option: dict, label: str = "", height: str = "md") -> str:
    """A chart: a <div data-chart> the page's charts.js draws with ECharts from the option in a
    JSON script element beside it (no inline script: the Content-Security-Policy forbids it).
    `label` is the chart's accessible name; the figures are also in the panel's table."""
    from django.utils.html import format_html

    data_id = f"{element_id}-option"
    # Round-trip through DjangoJSONEncoder so Decimals and dates serialise.
    payload = json.loads(json.dumps(option, cls=DjangoJSONEncoder))
    return format_html(
        '<div class="chart chart-{}" id="{}" data-chart="{}" role="img" aria-label="{}"></div>{}',
        height,
        element_id,
        data_id,
        label,
        json_script(payload, data_id),
    )


def _raw(v: Any) -> str:
    """A cell's sort value: what localize(v, use_l10n=False) writes, with the figures' fast path."""
    if v is None:
        return ""
    if isinstance(v, Decimal):
        return f"{v:f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return esc(localize(v, use_l10n=False))


# The separators of English and Chinese: amounts and counts need no escaping with them.
_PLAIN_SEPARATORS = (".", 3, ",")


def _cell_text(v: Any, kind: str, places: int, separators: tuple[str, Any, str] | None = None) -> str:
    """A cell's value as the page shows it, escaped: money, counts, percentages, dates by their kind.
    `separators`: number_separators(), read once per table by the caller."""
    if v is None:
        return "—"
    separators = separators or number_separators()
    if kind == "money":
        text = format_amount(v, currency=True, separators=separators)
        return text if separators == _PLAIN_SEPARATORS else esc(text)  # digits, "," ".", "-", "¥"
    if kind == "count":
        if isinstance(v, int) and not isinstance(v, bool) and separators == _PLAIN_SEPARATORS:
            return f"{v:,}"  # what intcomma writes for these separators
        return esc(intcomma(v))
    if kind == "percent":
        return f"{esc(floatformat(v, places))}%"
    if kind == "date":
        return esc(date_filter(v, "Y-m-d"))
    return esc(v)


@register.simple_tag
def dash_rows(table: Any, places: int = 1, dates_are_figures: bool = False) -> str:
    """The rows of a dashboard table (dashboards.tables.DashTable) as <tr> markup: the same cells the
    template markup once drew per cell (a class for figures, the raw value for sorting, the value
    formatted by its kind, the row's or the column's link), written in Python because a league of
    50 officers by 12 columns took a template 17 ms to draw at a million loans. `places`: decimals of
    a percentage; `dates_are_figures`: dates right-aligned like figures (the branches table)."""
    plain = ("text",) if dates_are_figures else ("text", "date")
    columns = [(c.key, c.kind, c.kind not in plain) for c in table.columns]
    separators = number_separators()
    out: list[str] = []
    for row in table.rows:
        values, links, url = row.values, row.links or {}, row.url
        out.append("<tr>")
        for i, (key, kind, numeric) in enumerate(columns):
            v, link = values.get(key), links.get(key)
            raw = _raw(v)
            out.append(f'<td class="num" data-value="{raw}">' if numeric else f'<td data-value="{raw}">')
            href = link or (url if i == 0 else "")
            if href:
                out.append(f'<a href="{esc(href)}">')
            out.append(_cell_text(v, kind, places, separators))
            if href:
                out.append("</a>")
            out.append("</td>")
        out.append("</tr>")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


@register.simple_tag
def dash_total(table: Any, total: Any, places: int = 1) -> str:
    """A table's total row as <th> cells (figures right-aligned, no link, no sort value)."""
    cells = []
    separators = number_separators()
    for c in table.columns:
        cls = "" if c.kind == "text" else ' class="num"'
        cells.append(f"<th{cls}>{_cell_text(total.values.get(c.key), c.kind, places, separators)}</th>")
    return mark_safe("".join(cells))  # noqa: S308 - every value is escaped by _cell_text
