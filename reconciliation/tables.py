from __future__ import annotations

import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accountability.tables import AmountColumn, DayColumn, PersonColumn
from ledger.models import LedgerEntry
from reconciliation.models import ReportedFall


class FallTable(tables.Table):
    reported_on = DayColumn(verbose_name=_("Reported"))
    loan = tables.Column(
        accessor="loan__loan_no", verbose_name=_("Loan"), linkify=lambda record: record.loan.get_absolute_url()
    )
    borrower = tables.Column(accessor="loan__borrower__name", verbose_name=_("Borrower"))
    principal = AmountColumn(accessor="entry__principal", verbose_name=_("Principal (¥)"))
    interest_on = AmountColumn(accessor="entry__interest_on_balance", verbose_name=_("Interest on balance sheet (¥)"))
    interest_off = AmountColumn(
        accessor="entry__interest_off_balance", verbose_name=_("Interest off balance sheet (¥)")
    )
    amount = AmountColumn(verbose_name=_("Fell by (¥)"))
    officer = PersonColumn(person="officer", verbose_name=_("Officer"))
    outcome = tables.Column(verbose_name=_("Classified as"), default="—")
    value_date = DayColumn(verbose_name=_("Value date"), default="—")
    action = tables.Column(accessor="pk", verbose_name="", orderable=False)

    class Meta:
        model = ReportedFall
        fields = [
            "reported_on",
            "loan",
            "borrower",
            "principal",
            "interest_on",
            "interest_off",
            "amount",
            "officer",
            "outcome",
            "value_date",
            "action",
        ]
        attrs = {"class": "table"}
        order_by = ("reported_on",)
        template_name = "django_tables2/table.html"
        empty_text = _("Nothing to classify: every fall reported by the book is explained.")

    def render_outcome(self, value, record):
        tone = {"cash_repayment": "ok", "refinancing": "bad", "other": ""}[record.outcome]
        return format_html('<span class="badge badge-{}">{}</span>', tone, value)

    def render_action(self, value, record):
        url = reverse("reconciliation:classify", args=[record.pk])
        if record.status == ReportedFall.Status.TO_CLASSIFY:
            return format_html('<a class="btn btn-sm btn-primary" href="{}">{}</a>', url, _("Classify"))
        return format_html('<a class="btn btn-sm" href="{}">{}</a>', url, _("Details"))


class RiseTable(tables.Table):
    value_date = DayColumn(verbose_name=_("Reported"))
    loan = tables.Column(
        accessor="loan__loan_no", verbose_name=_("Loan"), linkify=lambda record: record.loan.get_absolute_url()
    )
    borrower = tables.Column(accessor="loan__borrower__name", verbose_name=_("Borrower"))
    five_level_class = tables.Column(accessor="loan__five_level_class", verbose_name=_("Class"))
    principal = AmountColumn(verbose_name=_("Principal (¥)"))
    interest_on_balance = AmountColumn(verbose_name=_("Interest on balance sheet (¥)"))
    interest_off_balance = AmountColumn(verbose_name=_("Interest off balance sheet (¥)"))
    source = tables.Column(verbose_name=_("Source document"))
    acknowledge = tables.Column(accessor="pk", verbose_name="", orderable=False)

    def __init__(self, *args, may_acknowledge: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_acknowledge:
            self.columns.hide("acknowledge")

    class Meta:
        model = LedgerEntry
        fields = [
            "value_date",
            "loan",
            "borrower",
            "five_level_class",
            "principal",
            "interest_on_balance",
            "interest_off_balance",
            "source",
            "acknowledge",
        ]
        attrs = {"class": "table"}
        order_by = ("-value_date",)
        template_name = "django_tables2/table.html"
        empty_text = _("No rise of a non-performing loan's balance in an import is waiting to be acknowledged.")

    def render_five_level_class(self, value, record):
        return format_html(
            '<span class="badge badge-{}">{}</span>',
            record.loan.five_level_class,
            record.loan.get_five_level_class_display(),
        )

    def render_acknowledge(self, value, record):
        """A reason and a button: the rise is acknowledged and leaves the list."""
        return format_html(
            '<form method="post" action="{}" class="inline-form" id="acknowledge-{}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<input type="text" name="rise-{}-reason" required maxlength="2000" placeholder="{}" aria-label="{}"> '
            '<button class="btn btn-sm btn-primary" type="submit">{}</button></form>',
            reverse("reconciliation:rise_acknowledge", args=[record.pk]),
            record.pk,
            get_token(self.request),
            record.pk,
            _("Why the rise is right"),
            _("Why the rise is right"),
            _("Acknowledge"),
        )
