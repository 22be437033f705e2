import django_filters
from django.utils.translation import gettext_lazy as _

from loans.access import visible_branch_ids
from loans.classification import NON_PERFORMING_FIVE
from loans.models import Borrower, Branch, Loan
from loans.selectors import loans_search


class LoanFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    # "Any" as every other list's filters say, not Django's "---------".
    five_level_class = django_filters.ChoiceFilter(
        choices=Loan.FIVE_LEVEL_CHOICES, label=_("Five-level"), empty_label=_("Any")
    )
    four_level_class = django_filters.ChoiceFilter(
        choices=Loan.FOUR_LEVEL_CHOICES, label=_("Four-level"), empty_label=_("Any")
    )
    branch = django_filters.ModelChoiceFilter(queryset=Branch.objects.none(), label=_("Branch"), empty_label=_("Any"))
    borrower__kind = django_filters.ChoiceFilter(
        choices=Borrower.Kind.choices, label=_("Borrower kind"), empty_label=_("Any")
    )
    non_performing = django_filters.ChoiceFilter(
        method="filter_npl",
        label=_("Non-performing"),
        choices=[("yes", _("Non-performing")), ("no", _("Performing"))],
        empty_label=_("Any"),
    )

    class Meta:
        model = Loan
        fields = ["q", "five_level_class", "four_level_class", "branch", "borrower__kind", "non_performing"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        ids = visible_branch_ids(user)
        self.filters["branch"].queryset = Branch.objects.all() if ids is None else Branch.objects.filter(pk__in=ids)

    def search(self, queryset, name, value):
        return loans_search(queryset, value)

    def filter_npl(self, queryset, name, value):
        npl = [c.value for c in NON_PERFORMING_FIVE]
        if value == "yes":
            return queryset.filter(five_level_class__in=npl)
        if value == "no":
            return queryset.exclude(five_level_class__in=npl)
        return queryset
