"""Loans-by-loans and first-pay-off flags not cleared: new loans a manager has to review ("to
review") or confirmed as such, the ones to review first, then the most recently found.

The flags are found by accountability.prevention (the import and the daily "loans by loans" check);
a manager clears (explains) or confirms them on the prevention page. The index flag_not_cleared
serves the list. A flag's officer is the one who lent the new loan."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from accountability.models import LoansByLoansFlag
from dashboards.lists import name_of, narrowed, officer_links, page_of
from dashboards.query import DashboardQuery
from dashboards.tables import DATE, MONEY, TEXT, Column, DashTable, Row, register_table

TEMPLATE = "dashboards/panels/flags.html"
NOT_CLEARED = [LoansByLoansFlag.Status.OPEN, LoansByLoansFlag.Status.CONFIRMED]


def flags_not_cleared(query: DashboardQuery, user: Any):
    flags = LoansByLoansFlag.objects.filter(status__in=NOT_CLEARED)
    return (
        narrowed(flags, query, user, branch="branch", loan="new_loan", officer="lending_officer")
        .select_related("new_loan__borrower", "overdue_loan", "lending_officer")
        # "open" (to review) sorts after "confirmed": descending puts the flags to review first.
        .order_by("-status", "-found_on", "-id")
    )


def _loan_url(loan_id: int) -> str:
    return reverse("loans:loan_detail", args=[loan_id])


@register_table("flags")
def flags_table(query: DashboardQuery, user: Any, for_export: bool = False) -> DashTable:
    flags, more = page_of(flags_not_cleared(query, user), for_export)
    links = officer_links(query, user)
    rows = []
    for f in flags:
        row_links = links(f.lending_officer_id)
        if f.overdue_loan_id:
            row_links["overdue_loan"] = _loan_url(f.overdue_loan_id)
        rows.append(
            Row(
                values={
                    "loan_no": f.new_loan.loan_no,
                    "kind": str(f.get_kind_display()),
                    "borrower": f.new_loan.borrower.name,
                    "officer": name_of(f.lending_officer),
                    "principal": f.new_loan_principal,
                    "disbursed_on": f.disbursed_on,
                    "overdue_loan": f.overdue_loan.loan_no if f.overdue_loan_id else "",
                    "relation": str(f.get_relation_display()),
                    "found_on": f.found_on,
                    "status": str(f.get_status_display()),
                },
                url=_loan_url(f.new_loan_id),
                links=row_links,
            )
        )
    return DashTable(
        name="flags",
        title=_("Loans-by-loans and first-pay-off flags not cleared"),
        columns=[
            Column("loan_no", _("New loan"), TEXT),
            Column("kind", _("Kind"), TEXT),
            Column("borrower", _("Borrower"), TEXT),
            Column("officer", _("Lending officer"), TEXT),
            Column("principal", _("Principal"), MONEY),
            Column("disbursed_on", _("Disbursed on"), DATE),
            Column("overdue_loan", _("Older loan"), TEXT),
            Column("relation", _("Relation"), TEXT),
            Column("found_on", _("Found on"), DATE),
            Column("status", _("Status"), TEXT),
        ],
        rows=rows,
        empty=_("No flag is waiting or confirmed."),
        more=more,
    )


def context(query: DashboardQuery, user: Any) -> dict:
    return {"table": flags_table(query, user)}
