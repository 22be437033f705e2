"""Cases by measure: open cases in each of the six measures (and written off, still pursued), from
the kept case cells. A bar chart and the same figures as a table (exported to XLSX).

The worked example of a panel: figures from kept cells through `query.cells(...)`, a chart option
for charts.js, a registered table for the page and the export."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from collections_app.case_rules import OPEN_STATES, Measure
from dashboards.models import CaseCell
from dashboards.query import DashboardQuery
from dashboards.tables import COUNT, PERCENT, TEXT, Column, DashTable, Row, register_table

TEMPLATE = "dashboards/panels/measures.html"


def open_cases_by_measure(query: DashboardQuery) -> dict[str, int]:
    """Open cases per measure in the dashboard's cells (one small GROUP BY over kept cells)."""
    rows = query.kept(CaseCell, is_open=True).values("measure").annotate(n=Sum("cases"))
    return {r["measure"]: r["n"] or 0 for r in rows}


@register_table("measures")
def measures_table(query: DashboardQuery, user: Any, for_export: bool = False) -> DashTable:
    counts = open_cases_by_measure(query)
    total = sum(counts.values())
    rows = []
    for m in OPEN_STATES:
        n = counts.get(m.value, 0)
        rows.append(
            Row(
                values={"measure": str(Measure(m).label), "cases": n, "share": (n * 100 / total) if total else 0.0},
                url=f"{reverse('collections_app:case_list')}?measure={m.value}",
            )
        )
    return DashTable(
        name="measures",
        title=_("Open cases by measure"),
        columns=[
            Column("measure", _("Measure"), TEXT),
            Column("cases", _("Cases"), COUNT),
            Column("share", _("Share"), PERCENT),
        ],
        rows=rows,
        empty=_("No open cases."),
    )


def context(query: DashboardQuery, user: Any) -> dict:
    table = measures_table(query, user)
    option = {
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 40, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "data": [r.values["measure"] for r in table.rows]},
        "yAxis": {"type": "value", "minInterval": 1, "axisLabel": {"formatter": "number"}},
        "series": [{"type": "bar", "name": _("Cases"), "data": [r.values["cases"] for r in table.rows]}],
    }
    return {"table": table, "option": option}
