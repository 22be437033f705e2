"""Time limits due in the next 30 days: open cases whose recovery time limit falls between the
as-of date and 30 days after it, the soonest first.

The time limit is the current division of responsibility's (accountability.ResponsibilityAssignment);
the services mirror it onto the case (`CollectionCase.recovery_deadline`, with the lead officer), so
one index of the open cases serves the list (case_open_deadline). A written-off case keeps its claim
but no longer runs to a time limit (the reminder and missed-time-limit checks skip it too)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _

from accountability.rules import days_left
from collections_app.case_rules import Measure
from collections_app.models import CollectionCase
from dashboards.lists import case_url, name_of, narrowed, officer_links, page_of
from dashboards.query import DashboardQuery
from dashboards.tables import COUNT, DATE, MONEY, TEXT, Column, DashTable, Row, register_table

TEMPLATE = "dashboards/panels/deadlines.html"
WINDOW_DAYS = 30


def due_cases(query: DashboardQuery, user: Any):
    """Open cases (not written off) whose time limit is due within WINDOW_DAYS of the as-of date."""
    as_of = query.as_of
    cases = CollectionCase.objects.filter(
        is_open=True, recovery_deadline__range=(as_of, as_of + timedelta(days=WINDOW_DAYS))
    ).exclude(measure=Measure.WRITTEN_OFF)
    return (
        narrowed(cases, query, user, branch="branch", loan="loan")
        .select_related("loan__borrower", "officer")
        .order_by("recovery_deadline", "id")
    )


@register_table("deadlines")
def deadlines_table(query: DashboardQuery, user: Any, for_export: bool = False) -> DashTable:
    cases, more = page_of(due_cases(query, user), for_export)
    links = officer_links(query, user)
    rows = [
        Row(
            values={
                "loan_no": c.loan.loan_no,
                "borrower": c.loan.borrower.name,
                "officer": name_of(c.officer),
                "measure": str(Measure(c.measure).label),
                "deadline": c.recovery_deadline,
                "days_left": days_left(c.recovery_deadline, query.as_of),
                "outstanding": c.loan.outstanding_principal,
            },
            url=case_url(c.pk),
            links=links(c.officer_id),
        )
        for c in cases
    ]
    return DashTable(
        name="deadlines",
        title=_("Time limits due in the next 30 days"),
        columns=[
            Column("loan_no", _("Loan no."), TEXT),
            Column("borrower", _("Borrower"), TEXT),
            Column("officer", _("Officer"), TEXT),
            Column("measure", _("Measure"), TEXT),
            Column("deadline", _("Time limit"), DATE),
            Column("days_left", _("Days left"), COUNT),
            Column("outstanding", _("Outstanding principal"), MONEY),
        ],
        rows=rows,
        empty=_("No time limit is due in the next 30 days."),
        more=more,
    )


def context(query: DashboardQuery, user: Any) -> dict:
    return {"table": deadlines_table(query, user)}
