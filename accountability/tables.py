from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from accountability.models import AccountabilityRecord, LoansByLoansFlag, RecordKind, WatchListEntry
from accountability.rules import WATCH_REASON_LABELS, WatchReason

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


def state_badge(record: AccountabilityRecord) -> str:
    tone = {
        "proposed": "warn",
        "to_be_lifted": "info",
        "imposed": "bad" if record.kind == RecordKind.SANCTION else "ok",
        "waived": "",
        "lifted": "ok",
        "honoured": "ok",
    }[record.state]
    return format_html('<span class="badge badge-{}">{}</span>', tone, record.state_label)


def type_badge(record: AccountabilityRecord) -> str:
    tone = "bad" if record.kind == RecordKind.SANCTION else "ok"
    return format_html('<span class="badge badge-{}">{}</span>', tone, record.get_record_type_display())


class RecordTable(tables.Table):
    id = tables.Column(verbose_name="No.", linkify=lambda record: record.get_absolute_url())
    proposed_on = tables.DateColumn(format="Y-m-d", verbose_name="Proposed")
    officer = tables.Column(accessor="officer__last_name", verbose_name="Officer", order_by=("officer__last_name",))
    record_type = tables.Column(verbose_name="Type")
    state = tables.Column(verbose_name="State")
    origin = tables.Column(verbose_name="Why")
    loan = tables.Column(accessor="loan__loan_no", verbose_name="Loan", default="—")
    amount = tables.Column(attrs=NUM, default="")
    branch = tables.Column(accessor="branch__name", verbose_name="Branch")

    class Meta:
        model = AccountabilityRecord
        fields = ["id", "proposed_on", "officer", "record_type", "state", "origin", "loan", "amount", "branch"]
        attrs = {"class": "table"}
        order_by = ("-proposed_on",)
        template_name = "django_tables2/table.html"
        empty_text = "No record matches."

    def render_officer(self, value, record):
        return record.officer.display_name

    def render_record_type(self, value, record):
        return type_badge(record)

    def render_state(self, value, record):
        return state_badge(record)

    def render_loan(self, value, record):
        if record.case_id:
            return format_html(
                '<a href="{}">{}</a>', reverse("collections_app:case_detail", args=[record.case_id]), value
            )
        return value

    def render_amount(self, value):
        return f"{value:,.2f}"


class WatchListTable(tables.Table):
    loan = tables.Column(
        accessor="loan__loan_no", verbose_name="Loan", linkify=lambda record: record.loan.get_absolute_url()
    )
    borrower = tables.Column(accessor="loan__borrower__name", verbose_name="Borrower")
    branch = tables.Column(accessor="branch__name", verbose_name="Branch")
    officer = tables.Column(accessor="officer__username", verbose_name="Officer", default="—")
    five_level_class = tables.Column(verbose_name="Class")
    days_past_due = tables.Column(verbose_name="Days past due", attrs=NUM)
    outstanding_principal = tables.Column(verbose_name="Outstanding", attrs=NUM)
    reasons = tables.Column(verbose_name="Why watched", orderable=False)
    first_seen_on = tables.DateColumn(format="Y-m-d", verbose_name="Watched since")

    class Meta:
        model = WatchListEntry
        fields = [
            "loan",
            "borrower",
            "branch",
            "officer",
            "five_level_class",
            "days_past_due",
            "outstanding_principal",
            "reasons",
            "first_seen_on",
        ]
        attrs = {"class": "table"}
        order_by = ("-days_past_due",)
        template_name = "django_tables2/table.html"
        empty_text = "No loan on the watch list."

    def render_five_level_class(self, value, record):
        return format_html('<span class="badge badge-{}">{}</span>', record.five_level_class, value)

    def render_outstanding_principal(self, value):
        return f"{value:,.2f}"

    def render_reasons(self, value, record):
        return format_html("{}", "; ".join(WATCH_REASON_LABELS[WatchReason(r)] for r in record.reasons.split(",") if r))


class FlagTable(tables.Table):
    found_on = tables.DateColumn(format="Y-m-d", verbose_name="Found")
    new_loan = tables.Column(
        accessor="new_loan__loan_no", verbose_name="New loan", linkify=lambda record: record.new_loan.get_absolute_url()
    )
    new_borrower = tables.Column(accessor="new_loan__borrower__name", verbose_name="New borrower")
    disbursed_on = tables.DateColumn(format="Y-m-d", verbose_name="Disbursed")
    new_loan_principal = tables.Column(verbose_name="Principal", attrs=NUM)
    relation = tables.Column(verbose_name="Related how")
    overdue_loan = tables.Column(
        accessor="overdue_loan__loan_no",
        verbose_name="Overdue loan",
        linkify=lambda record: record.overdue_loan.get_absolute_url(),
    )
    repaid_on = tables.DateColumn(format="Y-m-d", verbose_name="Repaid on")
    repaid_amount = tables.Column(verbose_name="Amount repaid", attrs=NUM)
    lending_officer = tables.Column(accessor="lending_officer__username", verbose_name="Lent by", default="—")
    status = tables.Column(verbose_name="Status")
    review = tables.TemplateColumn(template_name="accountability/_flag_review.html", verbose_name="", orderable=False)

    class Meta:
        model = LoansByLoansFlag
        fields = [
            "found_on",
            "new_loan",
            "new_borrower",
            "disbursed_on",
            "new_loan_principal",
            "relation",
            "overdue_loan",
            "repaid_on",
            "repaid_amount",
            "lending_officer",
            "status",
            "review",
        ]
        attrs = {"class": "table"}
        order_by = ("-found_on",)
        template_name = "django_tables2/table.html"
        empty_text = "No new loan close to a repayment of an overdue loan."

    def render_new_loan_principal(self, value):
        return f"{value:,.2f}"

    def render_repaid_amount(self, value):
        return f"{value:,.2f}"

    def render_status(self, value, record):
        tone = {"open": "warn", "confirmed": "bad", "cleared": "ok"}[record.status]
        return format_html('<span class="badge badge-{}">{}</span>', tone, value)
