from __future__ import annotations

import django_tables2 as tables

from collections_app.models import CollectionCase


class CaseTable(tables.Table):
    loan_no = tables.Column(
        accessor="loan__loan_no", verbose_name="Loan no.", linkify=lambda record: record.get_absolute_url()
    )
    borrower = tables.Column(accessor="loan__borrower__name", verbose_name="Borrower")
    branch = tables.Column(accessor="branch__name", verbose_name="Branch")
    officer = tables.Column(accessor="officer__username", verbose_name="Officer")
    measure = tables.Column(verbose_name="Measure")
    owed = tables.Column(
        accessor="loan__outstanding_principal",
        verbose_name="Owed",
        attrs={"td": {"class": "num"}, "th": {"class": "num"}},
    )
    recovery_deadline = tables.Column(verbose_name="Time limit", order_by=("recovery_deadline", "id"))
    next_promise_due = tables.Column(verbose_name="Promise due", order_by=("next_promise_due", "id"))
    limitation_expires_on = tables.Column(verbose_name="Limitation ends", order_by=("limitation_expires_on", "id"))
    urgency_on = tables.Column(verbose_name="Next due", order_by=("urgency_on", "id"))

    class Meta:
        model = CollectionCase
        fields = [
            "urgency_on",
            "loan_no",
            "borrower",
            "branch",
            "officer",
            "measure",
            "owed",
            "recovery_deadline",
            "next_promise_due",
            "limitation_expires_on",
        ]
        attrs = {"class": "table queue"}
        order_by = ("urgency_on",)
        # Rows are drawn from the records in this template: django-tables2's per-cell rendering
        # costs more than the queue's whole SQL at 25 rows (see bench/bench_queue.py).
        template_name = "collections_app/_queue_table.html"
        empty_text = "No open case matches."
