"""Recoveries by month and source: the last 12 months up to the as-of month, from the kept ledger
cells (entries that count, of the kinds that count as recovery), by the ledger's kind (borrower's
cash, guarantor, court deduction, fiscal allocation, government or collective property, disposal
proceeds; repayment in kind), money and value in kind apart. A stacked bar chart and the table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext as _

from dashboards.models import LedgerCell
from dashboards.query import DashboardQuery, add_months
from dashboards.tables import MONEY, TEXT, Column, DashTable, Row, register_table
from ledger.models import LedgerEntry
from ledger.rules import EntryForm, EntryKind

TEMPLATE = "dashboards/panels/recoveries.html"
MONTHS = 12
ZERO = Decimal("0.00")
# The sources, in the order of the chart's stack and the table's columns; in kind last.
SOURCES = (
    EntryKind.CASH_RECOVERY,
    EntryKind.GUARANTOR_PAYMENT,
    EntryKind.COURT_DEDUCTION,
    EntryKind.FISCAL_ALLOCATION,
    EntryKind.GOVERNMENT_PROPERTY,
    EntryKind.DISPOSAL_PROCEEDS,
    EntryKind.REPAYMENT_IN_KIND,
)
COLOURS = ("#2563eb", "#0891b2", "#7c3aed", "#059669", "#ca8a04", "#db2777", "#78716c")


def source_label(kind: str) -> str:
    return str(LedgerEntry.Kind(kind).label)


def recoveries_by_month(query: DashboardQuery) -> list[dict]:
    """Per month (oldest first): the amount of each source, money and value in kind apart. One
    GROUP BY over the kept ledger cells."""
    first = add_months(query.month, -(MONTHS - 1))
    months = [add_months(first, i) for i in range(MONTHS)]
    out: dict[date, dict] = {
        m: {"month": m, "sources": dict.fromkeys(SOURCES, ZERO), "cash": ZERO, "in_kind": ZERO} for m in months
    }
    rows = (
        query.kept(LedgerCell, counting=True, counts_as_recovery=True, month__range=(first, query.month))
        .values("month", "kind", "form")
        .annotate(amount_=Sum("amount"))
    )
    for r in rows:
        m = out.get(r["month"])
        if m is None:
            continue
        amount = r["amount_"] or ZERO
        if r["kind"] in m["sources"]:
            m["sources"][r["kind"]] += amount
        if r["form"] == EntryForm.CASH:
            m["cash"] += amount
        elif r["form"] == EntryForm.IN_KIND:
            m["in_kind"] += amount
    return [out[m] for m in months]


@register_table("recoveries")
def recoveries_table(
    query: DashboardQuery, user: Any, for_export: bool = False, months: list | None = None
) -> DashTable:
    months = recoveries_by_month(query) if months is None else months
    rows = [
        Row(
            values={
                "month": f"{m['month']:%Y-%m}",
                **{s.value: m["sources"][s] for s in SOURCES},
                "cash": m["cash"],
                "in_kind": m["in_kind"],
            },
            url=query.querystring(month=f"{m['month']:%Y-%m}"),
        )
        for m in reversed(months)
    ]
    return DashTable(
        name="recoveries",
        title=_("Recoveries by month and source"),
        columns=[
            Column("month", _("Month"), TEXT),
            *[Column(s.value, source_label(s), MONEY) for s in SOURCES],
            Column("cash", _("Money recovered"), MONEY),
            Column("in_kind", _("Value taken in kind"), MONEY),
        ],
        rows=rows,
        empty=_("No recoveries."),
    )


def context(query: DashboardQuery, user: Any) -> dict:
    months = recoveries_by_month(query)
    table = recoveries_table(query, user, months=months)
    series = [
        {
            "type": "bar",
            "name": source_label(s),
            # Money stacked in one bar per month, value in kind in a bar of its own beside it.
            "stack": "in_kind" if s == EntryKind.REPAYMENT_IN_KIND else "cash",
            "data": [float(m["sources"][s]) for m in months],
        }
        for s in SOURCES
    ]
    option = {
        "grid": {"left": 40, "right": 16, "top": 56, "bottom": 40, "containLabel": True},
        "tooltip": {"trigger": "axis", "valueFormatter": "number"},
        "legend": {"top": 0},
        "color": list(COLOURS),
        "xAxis": {"type": "category", "data": [f"{m['month']:%Y-%m}" for m in months]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "number"}},
        "series": series,
    }
    totals = {
        "cash": sum((m["cash"] for m in months), ZERO),
        "in_kind": sum((m["in_kind"] for m in months), ZERO),
    }
    return {"table": table, "option": option, "months": months, "totals": totals}
