"""Branches side by side: the shown branch's child branches (each its whole subtree), the loans booked
at the shown branch itself apart, and a total row. Each row drills into that subtree, keeping the
other filters. Figures from dashboards.figures.branches (kept cells, or the month's close for a past
month); a registered table, so it exports to XLSX. Not shown to an officer (his own figures only)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from dashboards import figures
from dashboards.query import DashboardQuery
from dashboards.tables import COUNT, MONEY, PERCENT, TEXT, Column, DashTable, Row, register_table
from loans.permissions import is_officer

TEMPLATE = "dashboards/panels/branches.html"
KEYS = ("loans", "outstanding", "npl_balance", "npl_ratio", "provisions", "cash_year", "net_year", "open_cases")


def _values(f: figures.BranchFigures, name: str) -> dict[str, Any]:
    return {"branch": name, **{k: getattr(f, k) for k in KEYS}}


def columns(query: DashboardQuery) -> list[Column]:
    scheme = _("Five-level") if query.scheme == "five" else _("Four-level")
    return [
        Column("branch", _("Branch"), TEXT),
        Column("loans", _("Loans"), COUNT),
        Column("outstanding", _("Outstanding principal"), MONEY),
        Column("npl_balance", _("Non-performing balance (%(scheme)s)") % {"scheme": scheme}, MONEY),
        Column("npl_ratio", _("NPL ratio"), PERCENT),
        Column("provisions", _("Provisions required"), MONEY),
        Column("cash_year", _("Cash recovered this year"), MONEY),
        Column("net_year", _("Net recovery this year"), MONEY),
        Column("open_cases", _("Open cases"), COUNT),
    ]


def split(query: DashboardQuery, user: Any, for_export: bool = False) -> tuple[DashTable, Row | None]:
    """The table (rows without the total) and the total row."""
    data = figures.branches(query)
    rows: list[Row] = []
    total = None
    if data is not None:
        for f in data.rows:
            if f.subtree:
                rows.append(Row(values=_values(f, f.name), url=query.querystring(branch=f.branch_id)))
            else:
                rows.append(Row(values=_values(f, _("%(branch)s itself") % {"branch": f.name})))
        if data.total is not None:
            total = Row(values=_values(data.total, _("Total")))
    table = DashTable(
        name="branches",
        title=_("Branches side by side"),
        columns=columns(query),
        rows=rows,
        empty=_("No branches below this one."),
    )
    return table, total


@register_table("branches")
def branches_table(query: DashboardQuery, user: Any, for_export: bool = False) -> DashTable:
    table, total = split(query, user, for_export)
    if for_export and total is not None:
        table.rows.append(total)
    return table


def context(query: DashboardQuery, user: Any) -> dict | None:
    if is_officer(user) or query.officer_id is not None:
        return None
    table, total = split(query, user)
    return {"table": table, "total": total}
