from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from collections_app.models import CollectionCase


class CaseTable(tables.Table):
    """The work queue. Chosen to fit a 1366-wide screen: the branch and the next promise due are
    shown under the borrower (the row's detail); on a phone the rows are cards (cases.css)."""

    # The default order: the guideline's emphasis first (insiders, then idle, doubtful and loss loans),
    # then by urgency; served by the case_*_emphasis indexes (issue 11).
    emphasis = tables.Column(verbose_name=_("Emphasis"), order_by=("emphasis", "urgency_on", "id"))
    # Only the sort orders an open-case index serves (case_open_urgency, case_open_deadline,
    # case_open_limitation; per officer and branch case_officer_queue, case_branch_queue), each
    # ending with the pk: 208,000 open cases are never sorted. The columns from the loan and the
    # officer are not sortable.
    urgency_on = tables.Column(verbose_name=_("Next due"), order_by=("urgency_on", "id"))
    loan_no = tables.Column(
        accessor="loan__loan_no",
        verbose_name=_("Loan no."),
        linkify=lambda record: record.get_absolute_url(),
        orderable=False,
    )
    borrower = tables.Column(accessor="loan__borrower__name", verbose_name=_("Borrower"), orderable=False)
    officer = tables.Column(accessor="officer__last_name", verbose_name=_("Officer"), orderable=False)
    measure = tables.Column(verbose_name=_("Measure"), orderable=False)
    owed = tables.Column(
        accessor="loan__outstanding_principal",
        verbose_name=_("Owed (¥)"),
        attrs={"td": {"class": "num"}, "th": {"class": "num"}},
        orderable=False,
    )
    recovery_deadline = tables.Column(verbose_name=_("Time limit"), order_by=("recovery_deadline", "id"))
    limitation_expires_on = tables.Column(verbose_name=_("Limitation ends"), order_by=("limitation_expires_on", "id"))

    class Meta:
        model = CollectionCase
        fields = [
            "emphasis",
            "urgency_on",
            "loan_no",
            "borrower",
            "officer",
            "measure",
            "owed",
            "recovery_deadline",
            "limitation_expires_on",
        ]
        attrs = {"class": "table queue"}
        order_by = ("emphasis",)
        # Rows are drawn from the records in this template: django-tables2's per-cell rendering
        # costs more than the queue's whole SQL at 25 rows (see bench/bench_queue.py).
        template_name = "collections_app/_queue_table.html"
        empty_text = _("No open case matches.")
