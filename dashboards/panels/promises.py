"""Broken promises to pay: promises of open cases that the daily check (or an officer) marked broken
in the last 90 days before the as-of date, the most recently broken first.

`PromiseToPay.status_on` is the day it was marked broken (collections_app promises_mark_broken, run
by the daily promise check, which also leaves an accountability.PromiseAlert); the index
promise_broken_recent serves the list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext as _

from collections_app.models import PromiseToPay
from dashboards.lists import case_url, name_of, narrowed, officer_links, page_of
from dashboards.query import DashboardQuery
from dashboards.tables import DATE, MONEY, TEXT, Column, DashTable, Row, register_table

TEMPLATE = "dashboards/panels/promises.html"
RECENT_DAYS = 90


def broken_promises(query: DashboardQuery, user: Any):
    as_of = query.as_of
    promises = PromiseToPay.objects.filter(
        status=PromiseToPay.Status.BROKEN,
        status_on__range=(as_of - timedelta(days=RECENT_DAYS), as_of),
        case__is_open=True,
    )
    return (
        narrowed(promises, query, user, branch="case__branch", loan="case__loan")
        .select_related("case__loan__borrower", "case__officer")
        .order_by("-status_on", "-id")
    )


@register_table("promises")
def promises_table(query: DashboardQuery, user: Any, for_export: bool = False) -> DashTable:
    promises, more = page_of(broken_promises(query, user), for_export)
    links = officer_links(query, user)
    rows = [
        Row(
            values={
                "loan_no": p.case.loan.loan_no,
                "borrower": p.case.loan.borrower.name,
                "officer": name_of(p.case.officer),
                "due_on": p.due_on,
                "amount": p.amount,
                "paid": p.amount_paid,
                "unpaid": p.amount - p.amount_paid,
                "broken_on": p.status_on,
            },
            url=case_url(p.case_id),
            links=links(p.case.officer_id),
        )
        for p in promises
    ]
    return DashTable(
        name="promises",
        title=_("Broken promises to pay (last 90 days)"),
        columns=[
            Column("loan_no", _("Loan no."), TEXT),
            Column("borrower", _("Borrower"), TEXT),
            Column("officer", _("Officer"), TEXT),
            Column("due_on", _("Promise due"), DATE),
            Column("amount", _("Amount promised"), MONEY),
            Column("paid", _("Paid"), MONEY),
            Column("unpaid", _("Unpaid"), MONEY),
            Column("broken_on", _("Found broken on"), DATE),
        ],
        rows=rows,
        empty=_("No promise to pay was broken in the last 90 days."),
        more=more,
    )


def context(query: DashboardQuery, user: Any) -> dict:
    return {"table": promises_table(query, user)}
