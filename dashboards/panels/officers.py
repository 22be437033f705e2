"""The officer league of the shown subtree: per responsible officer, open cases, NPL balance, cash
recovered and net recovery this year, time limits missed, sanctions open and progress against his
targets (definitions: dashboards.league). Each row leads to that officer's dashboard; the
time limits missed to his late cases. Officers don't see the league (they see their own figures)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from dashboards.league import compute, officer_targets
from dashboards.lists import user_display_name
from dashboards.query import DashboardQuery
from dashboards.tables import COUNT, MONEY, PERCENT, TEXT, Column, DashTable, Row, register_table
from loans.models import User
from loans.permissions import is_officer

TEMPLATE = "dashboards/panels/officers.html"
# The page shows the first rows of the league; the export has them all.
PAGE_ROWS = 50


def _money(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


@register_table("officers")
def officers_table(query: DashboardQuery, user: Any, for_export: bool = False) -> DashTable:
    figures = compute(query, "officer_id")
    figures.pop(None, None)  # loans without a responsible officer: in the subtree's totals, not a league row
    targets = officer_targets(query)
    for officer_id, (npl, cash) in targets.items():
        if officer_id in figures:
            figures[officer_id].target_npl_reduction, figures[officer_id].target_cash_recovered = npl, cash
    # Names as tuples (User.display_name, from the columns): 400 officers need no model instances.
    people = {
        r["id"]: (user_display_name(r["first_name"], r["last_name"], r["username"]), r["branch__name"] or "")
        for r in User.objects.filter(pk__in=list(figures))
        .order_by()
        .values("id", "first_name", "last_name", "username", "branch__name")
    }
    # The league's order: most net recovery first, then by name; rows are built for the page only.
    ranked = sorted(
        (officer_id for officer_id in figures if officer_id in people),
        key=lambda officer_id: (-(_money(figures[officer_id].net_recovery) or 0), people[officer_id][0]),
    )
    more = 0
    if not for_export and len(ranked) > PAGE_ROWS:
        more, ranked = len(ranked) - PAGE_ROWS, ranked[:PAGE_ROWS]
    cases = reverse("collections_app:case_list")
    rows = []
    for officer_id in ranked:
        f, (name, branch) = figures[officer_id], people[officer_id]
        rows.append(
            Row(
                values={
                    "officer": name,
                    "branch": branch,
                    "open_cases": f.open_cases,
                    "npl_balance": _money(f.npl_balance),
                    "cash_recovered": _money(f.cash_recovered),
                    "net_recovery": _money(f.net_recovery),
                    "time_limits_missed": f.time_limits_missed,
                    "sanctions_open": f.sanctions_open,
                    "npl_progress": f.npl_progress,
                    "cash_progress": f.cash_progress,
                },
                url=query.querystring(officer=officer_id),
                # His late cases in the work queue (when there are some).
                links={"time_limits_missed": f"{cases}?scope=all&officer={officer_id}&due=deadline_passed"}
                if f.time_limits_missed
                else {},
            )
        )
    return DashTable(
        name="officers",
        title=_("Officer league"),
        columns=[
            Column("officer", _("Officer"), TEXT),
            Column("branch", _("Branch"), TEXT),
            Column("open_cases", _("Open cases"), COUNT),
            Column("npl_balance", _("NPL balance"), MONEY),
            Column("cash_recovered", _("Cash recovered this year"), MONEY),
            Column("net_recovery", _("Net recovery this year"), MONEY),
            Column("time_limits_missed", _("Time limits missed"), COUNT),
            Column("sanctions_open", _("Sanctions open"), COUNT),
            Column("npl_progress", _("Reduction vs target"), PERCENT),
            Column("cash_progress", _("Cash vs target"), PERCENT),
        ],
        rows=rows,
        empty=_("No officer has figures here."),
        more=more,
    )


def context(query: DashboardQuery, user: Any) -> dict | None:
    if is_officer(user):
        return None
    return {"table": officers_table(query, user)}
