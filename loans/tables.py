import django_tables2 as tables
from django.utils.html import format_html

from loans.models import Loan


def class_badge(code: str, label: str) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', code, label)


class LoanTable(tables.Table):
    loan_no = tables.Column(linkify=True, verbose_name="Loan no.")
    borrower = tables.Column(accessor="borrower__name", verbose_name="Borrower")
    branch = tables.Column(accessor="branch__name", verbose_name="Branch")
    outstanding_principal = tables.Column(
        verbose_name="Outstanding", attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    overdue_since = tables.DateColumn(verbose_name="Overdue since", format="Y-m-d")
    five_level_class = tables.Column(verbose_name="Five-level")
    four_level_class = tables.Column(verbose_name="Four-level")
    responsible_officer = tables.Column(accessor="responsible_officer__username", verbose_name="Responsible")

    class Meta:
        model = Loan
        fields = [
            "loan_no",
            "borrower",
            "branch",
            "outstanding_principal",
            "overdue_since",
            "five_level_class",
            "four_level_class",
            "responsible_officer",
        ]
        attrs = {"class": "table"}
        order_by = ("loan_no",)
        template_name = "django_tables2/table.html"

    def render_outstanding_principal(self, value):
        return f"{value:,.2f}"

    def render_five_level_class(self, value, record):
        return class_badge(record.five_level_class, value)

    def render_four_level_class(self, value, record):
        return class_badge(record.four_level_class, value)
