"""NPL balance by month under both schemes: the last 13 months up to the as-of month, from the
month-end snapshots (a past month's figures at its end), the current month from the kept book
cells (the book now). Five levels: substandard + doubtful + loss; four levels: overdue + idle +
bad debt. A line chart and the same figures as a table (exported to XLSX)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum, Value
from django.utils.translation import gettext as _

from accountability.models import MonthEndSnapshot
from dashboards.closed import closed_rows
from dashboards.models import BookCell
from dashboards.query import DashboardQuery, add_months
from dashboards.tables import COUNT, MONEY, PERCENT, TEXT, Column, DashTable, Row, register_table
from loans.classification import NON_PERFORMING_FIVE, FourLevel

TEMPLATE = "dashboards/panels/trend.html"
MONTHS = 13
FOUR_NPL = tuple(c.value for c in FourLevel if c != FourLevel.NORMAL)
FIVE_NPL = tuple(c.value for c in NON_PERFORMING_FIVE)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Point:
    month: date
    loans: int
    outstanding: Decimal
    npl_five: Decimal
    npl_four: Decimal
    closed: bool  # from a month-end snapshot (False: the book now)

    def ratio(self, npl: Decimal) -> Decimal | None:
        return (npl * 100 / self.outstanding).quantize(Decimal("0.01")) if self.outstanding else None


def trend_points(query: DashboardQuery) -> list[Point]:
    """The months from 12 before the as-of month to it; a month with no close and not current has
    no point. The snapshots summed by month (kept per process: dashboards.closed) and, in the
    current month, the kept book cells summed (one row)."""
    first = add_months(query.month, -(MONTHS - 1))
    snapshots = (
        query.cells(MonthEndSnapshot.objects.filter(month__range=(first, query.month)))
        .order_by()
        .values("month")
        .annotate(
            n=Sum("loans"),
            outstanding=Sum("outstanding_principal"),
            five=Sum("npl_balance"),
            four=Sum("overdue_balance") + Sum("idle_balance") + Sum("bad_debt_balance"),
            closed=Value(True),
        )
    )
    # The closed months' sums are read once per process (dashboards.closed); the book now is live.
    rows = list(closed_rows(snapshots))
    if query.is_current_month:
        book = query.kept(BookCell).aggregate(
            n=Sum("loans"),
            outstanding=Sum("outstanding_principal"),
            five=Sum("outstanding_principal", filter=Q(five_level_class__in=FIVE_NPL)),
            four=Sum("outstanding_principal", filter=Q(four_level_class__in=FOUR_NPL)),
        )
        rows.append({**book, "month": query.month, "closed": False})
    points: dict[date, Point] = {}
    for r in rows:
        if r["n"] is None or (not r["closed"] and r["month"] in points):
            continue  # no book cells; or the month is closed already
        points[r["month"]] = Point(
            month=r["month"],
            loans=r["n"] or 0,
            outstanding=r["outstanding"] or ZERO,
            npl_five=r["five"] or ZERO,
            npl_four=r["four"] or ZERO,
            closed=bool(r["closed"]),
        )
    return [points[m] for m in sorted(points)]


@register_table("trend")
def trend_table(query: DashboardQuery, user: Any, for_export: bool = False, points: list | None = None) -> DashTable:
    points = trend_points(query) if points is None else points
    rows = [
        Row(
            values={
                "month": f"{p.month:%Y-%m}",
                "source": _("Month-end close") if p.closed else _("The book now"),
                "loans": p.loans,
                "outstanding": p.outstanding,
                "npl_five": p.npl_five,
                "ratio_five": p.ratio(p.npl_five),
                "npl_four": p.npl_four,
                "ratio_four": p.ratio(p.npl_four),
            },
            url=query.querystring(month=f"{p.month:%Y-%m}"),
        )
        for p in reversed(points)
    ]
    return DashTable(
        name="trend",
        title=_("Non-performing balance by month"),
        columns=[
            Column("month", _("Month"), TEXT),
            Column("source", _("Figures from"), TEXT),
            Column("loans", _("Loans"), COUNT),
            Column("outstanding", _("Outstanding principal"), MONEY),
            Column("npl_five", _("NPL balance (five levels)"), MONEY),
            Column("ratio_five", _("NPL ratio (five levels)"), PERCENT),
            Column("npl_four", _("NPL balance (four levels)"), MONEY),
            Column("ratio_four", _("NPL ratio (four levels)"), PERCENT),
        ],
        rows=rows,
        empty=_("No month-end close yet: the trend starts with the first one."),
    )


def context(query: DashboardQuery, user: Any) -> dict:
    points = trend_points(query)
    table = trend_table(query, user, points=points)
    option = {
        "grid": {"left": 40, "right": 16, "top": 40, "bottom": 40, "containLabel": True},
        "tooltip": {"trigger": "axis", "valueFormatter": "number"},
        "legend": {"top": 0},
        "color": ["#dc2626", "#2563eb"],
        "xAxis": {"type": "category", "data": [f"{p.month:%Y-%m}" for p in points]},
        "yAxis": {"type": "value", "axisLabel": {"formatter": "number"}},
        "series": [
            {"type": "line", "name": _("Five levels"), "data": [float(p.npl_five) for p in points]},
            {"type": "line", "name": _("Four levels"), "data": [float(p.npl_four) for p in points]},
        ],
    }
    current = any(not p.closed for p in points)
    return {"table": table, "option": option, "points": points, "has_current": current}
