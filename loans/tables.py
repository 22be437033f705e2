import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loans.models import Loan
from npl_recovery.i18n import format_amount


def class_badge(code: str, label: str) -> str:
    return format_html('<span class="badge badge-{}">{}</span>', code, label)


class LoanTable(tables.Table):
    """The loan list. Only sort orders an index serves are offered (a million loans are never
    sorted): loan number (unique), outstanding principal and overdue since (loan_outstanding_id,
    loan_overdue_since_id), each ending with the pk so pages do not overlap. The class columns
    have no index on purpose (see Loan.Meta); borrower, branch and officer are in other tables."""

    loan_no = tables.Column(linkify=True, verbose_name=_("Loan no."), order_by=("loan_no",))
    borrower = tables.Column(accessor="borrower__name", verbose_name=_("Borrower"), orderable=False)
    branch = tables.Column(accessor="branch__name", verbose_name=_("Branch"), orderable=False)
    outstanding_principal = tables.Column(
        verbose_name=_("Outstanding"),
        attrs={"td": {"class": "num"}, "th": {"class": "num"}},
        order_by=("outstanding_principal", "id"),
    )
    overdue_since = tables.DateColumn(
        verbose_name=_("Overdue since"),
        format="Y-m-d",
        attrs={"td": {"class": "nowrap"}},
        order_by=("overdue_since", "id"),
    )
    five_level_class = tables.Column(verbose_name=_("Five-level"), orderable=False)
    four_level_class = tables.Column(verbose_name=_("Four-level"), orderable=False)
    responsible_officer = tables.Column(
        accessor="responsible_officer", verbose_name=_("Responsible officer"), orderable=False
    )

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
        return format_amount(value, currency=True)

    def render_responsible_officer(self, value):
        return value.display_name

    def render_five_level_class(self, value, record):
        return class_badge(record.five_level_class, value)

    def render_four_level_class(self, value, record):
        return class_badge(record.four_level_class, value)
