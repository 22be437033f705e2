from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accountability.models import AccountabilityRecord, LoansByLoansFlag, RecordKind, WatchListEntry
from accountability.rules import WATCH_REASON_LABELS, WatchReason
from npl_recovery.i18n import format_amount, format_day

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}
# Dates never wrap (static/css/app.css, section w2acct).
DATE = {"td": {"class": "date"}, "th": {"class": "date"}}


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


class DayColumn(tables.Column):
    """A business date in the reader's language, short (2026-12-02) and never wrapped."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("attrs", DATE)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return format_day(value, short=True)


class AmountColumn(tables.Column):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("attrs", NUM)
        super().__init__(*args, **kwargs)

    def render(self, value):
        return format_amount(value)


class PersonColumn(tables.Column):
    """A member of staff by their full name (never the login), sorted by family name."""

    def __init__(self, *args, person: str, **kwargs) -> None:
        kwargs.setdefault("order_by", (f"{person}__last_name", f"{person}__first_name"))
        kwargs.setdefault("default", "—")
        super().__init__(*args, accessor=person, **kwargs)

    def render(self, value):
        return value.display_name


class RecordTable(tables.Table):
    """The board's records. Sorted only by what an index serves (the pk; record_proposed_on_id),
    each order ending with the pk for stable pages."""

    id = tables.Column(verbose_name=_("No."), linkify=lambda record: record.get_absolute_url())
    proposed_on = DayColumn(verbose_name=_("Proposed"), order_by=("proposed_on", "id"))
    officer = PersonColumn(person="officer", verbose_name=_("Officer"), orderable=False)
    record_type = tables.Column(verbose_name=_("Type"), orderable=False)
    state = tables.Column(verbose_name=_("State"), orderable=False)
    origin = tables.Column(verbose_name=_("Why"), orderable=False)
    loan = tables.Column(accessor="loan__loan_no", verbose_name=_("Loan"), default="—", orderable=False)
    amount = AmountColumn(verbose_name=_("Amount"), default="", orderable=False)
    branch = tables.Column(accessor="branch__name", verbose_name=_("Branch"), orderable=False)

    class Meta:
        model = AccountabilityRecord
        fields = ["id", "proposed_on", "officer", "record_type", "state", "origin", "loan", "amount", "branch"]
        attrs = {"class": "table"}
        order_by = ("-proposed_on",)
        template_name = "django_tables2/table.html"
        empty_text = _("No record matches.")

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


class WatchListTable(tables.Table):
    """The day's watch list. Sorted only by what an index on the day serves (watch_list_day_dpd,
    watch_list_day_outstanding, watch_list_day_first_seen), each order ending with the pk."""

    loan = tables.Column(
        accessor="loan__loan_no",
        verbose_name=_("Loan"),
        linkify=lambda record: record.loan.get_absolute_url(),
        orderable=False,
    )
    borrower = tables.Column(accessor="loan__borrower__name", verbose_name=_("Borrower"), orderable=False)
    branch = tables.Column(accessor="branch__name", verbose_name=_("Branch"), orderable=False)
    officer = PersonColumn(person="officer", verbose_name=_("Officer"), orderable=False)
    five_level_class = tables.Column(verbose_name=_("Class"), orderable=False)
    days_past_due = tables.Column(verbose_name=_("Days past due"), attrs=NUM, order_by=("days_past_due", "id"))
    outstanding_principal = AmountColumn(
        verbose_name=_("Outstanding principal (¥)"), order_by=("outstanding_principal", "id")
    )
    reasons = tables.Column(verbose_name=_("Why watched"), orderable=False)
    first_seen_on = DayColumn(verbose_name=_("Watched since"), order_by=("first_seen_on", "id"))

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
        empty_text = _("No loan on the watch list.")

    def render_five_level_class(self, value, record):
        return format_html('<span class="badge badge-{}">{}</span>', record.five_level_class, value)

    def render_reasons(self, value, record):
        return format_html(
            "{}", "; ".join(str(WATCH_REASON_LABELS[WatchReason(r)]) for r in record.reasons.split(",") if r)
        )


class FlagTable(tables.Table):
    found_on = DayColumn(verbose_name=_("Found"))
    kind = tables.Column(verbose_name=_("Flag"))
    new_loan = tables.Column(
        accessor="new_loan__loan_no",
        verbose_name=_("New loan"),
        linkify=lambda record: record.new_loan.get_absolute_url(),
    )
    new_borrower = tables.Column(accessor="new_loan__borrower__name", verbose_name=_("New borrower"))
    disbursed_on = DayColumn(verbose_name=_("Disbursed on"))
    new_loan_principal = AmountColumn(verbose_name=_("Principal (¥)"))
    relation = tables.Column(verbose_name=_("Related how"))
    overdue_loan = tables.Column(
        accessor="overdue_loan__loan_no",
        verbose_name=_("Overdue loan"),
        linkify=lambda record: record.overdue_loan.get_absolute_url() if record.overdue_loan_id else None,
    )
    # What fell: a recovery recorded by hand, or a fall of the balance reported by the book (its
    # ledger entry, shown on the case page's ledger).
    what_fell = tables.Column(accessor="ledger_entry_id", verbose_name=_("What fell"), orderable=False, default="—")
    repaid_on = DayColumn(verbose_name=_("Repaid on"))
    repaid_amount = AmountColumn(verbose_name=_("Amount repaid (¥)"))
    lending_officer = PersonColumn(person="lending_officer", verbose_name=_("Lent by"))
    status = tables.Column(verbose_name=_("Status"))
    review = tables.TemplateColumn(template_name="accountability/_flag_review.html", verbose_name="", orderable=False)

    class Meta:
        model = LoansByLoansFlag
        fields = [
            "found_on",
            "kind",
            "new_loan",
            "new_borrower",
            "disbursed_on",
            "new_loan_principal",
            "relation",
            "overdue_loan",
            "what_fell",
            "repaid_on",
            "repaid_amount",
            "lending_officer",
            "status",
            "review",
        ]
        attrs = {"class": "table"}
        order_by = ("-found_on",)
        template_name = "django_tables2/table.html"
        empty_text = _("No new loan flagged.")

    def render_kind(self, value, record):
        tone = "info" if record.kind == LoansByLoansFlag.Kind.FIRST_PAY_OFF else "warn"
        return format_html('<span class="badge badge-{}">{}</span>', tone, value)

    def render_what_fell(self, value, record):
        entry = record.ledger_entry
        label = _("Reported by the book (entry %(no)s)") % {"no": entry.pk}
        if entry.case_id:
            url = reverse("collections_app:case_detail", args=[entry.case_id]) + "#ledger"
            return format_html('<a href="{}">{}</a>', url, label)
        return label

    def render_status(self, value, record):
        tone = {"open": "warn", "confirmed": "bad", "cleared": "ok"}[record.status]
        return format_html('<span class="badge badge-{}">{}</span>', tone, value)
