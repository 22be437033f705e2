from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

from collections_app.models import CollectionCase


def _days(value, today) -> str:
    days = (value - today).days
    if days < 0:
        return format_html('{} <span class="badge badge-bad">{} days late</span>', value.isoformat(), -days)
    if days <= 30:
        return format_html('{} <span class="badge badge-warn">{} days</span>', value.isoformat(), days)
    return value.isoformat()


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
        template_name = "django_tables2/table.html"
        empty_text = "No open case matches."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()

    def render_measure(self, value, record):
        return format_html('<span class="badge badge-measure-{}">{}</span>', record.measure, value)

    def render_owed(self, value, record):
        return f"{record.loan.total_owed:,.2f}"

    def render_officer(self, value, record):
        return record.officer.display_name

    def render_recovery_deadline(self, value):
        return _days(value, self.today)

    def render_urgency_on(self, value):
        return _days(value, self.today)

    def render_next_promise_due(self, value):
        return _days(value, self.today)

    def render_limitation_expires_on(self, value):
        return value.isoformat()
