"""The audit page's search: by object, user, branch, event and date range."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.describe import SUBJECT_LABELS, event_choices
from audit.selectors import case_history_condition, loan_history_condition
from loans.access import visible_branch_ids
from loans.models import Branch, Loan, User

DATE = forms.DateInput(attrs={"type": "date"})
# Ids are bigints: a larger number is not an id, and PostgreSQL would refuse to compare with it.
ID_BOUNDS = {"min_value": 1, "max_value": 2**63 - 1}


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditFilter(django_filters.FilterSet):
    loan = django_filters.CharFilter(method="by_loan", label=_("Loan number (its whole history)"))
    case = django_filters.NumberFilter(method="by_case", label=_("Case no. (its whole history)"), **ID_BOUNDS)
    subject_type = django_filters.ChoiceFilter(
        choices=[(k, v) for k, v in SUBJECT_LABELS.items()], label=_("About a"), empty_label=_("Anything")
    )
    subject_id = django_filters.NumberFilter(label=_("Its no."), **ID_BOUNDS)
    actor = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), label=_("By"), null_label=_("The system"), empty_label=_("Anyone")
    )
    branch = django_filters.ModelChoiceFilter(queryset=Branch.objects.none(), label=_("Branch"), empty_label=_("Any"))
    event = django_filters.ChoiceFilter(
        choices=event_choices, method="by_event", label=_("Event"), empty_label=_("Any event")
    )
    date_from = django_filters.DateFilter(method="from_day", label=_("From"), widget=DATE)
    date_to = django_filters.DateFilter(method="to_day", label=_("To"), widget=DATE)

    # On a case's or loan's history page the object is given: these would only narrow it.
    OBJECT_FILTERS = ("loan", "case", "subject_type", "subject_id")

    def __init__(self, *args, user=None, history: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if history:
            for name in self.OBJECT_FILTERS:
                del self.filters[name]
        ids = visible_branch_ids(user)
        branches = Branch.objects.all() if ids is None else Branch.objects.filter(pk__in=ids)
        self.filters["branch"].queryset = branches
        staff = User.objects.order_by("last_name", "first_name", "username")
        self.filters["actor"].queryset = staff if ids is None else staff.filter(branch__in=ids)

    def by_loan(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        loan_id = Loan.objects.visible_to(self.user).filter(loan_no=value).values_list("pk", flat=True).first()
        return queryset.filter(loan_history_condition(loan_id)) if loan_id else queryset.none()

    def by_case(self, queryset, name, value):
        return queryset.filter(case_history_condition([int(value)])) if value is not None else queryset

    def by_event(self, queryset, name, value):
        if not value:
            return queryset
        # A family ("case.") matches every event whose code begins with it.
        return queryset.filter(Q(event_type__startswith=value) if value.endswith(".") else Q(event_type=value))

    def from_day(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of(value)) if value else queryset

    def to_day(self, queryset, name, value):
        if not value:
            return queryset
        try:
            return queryset.filter(created_at__lt=_start_of(value + dt.timedelta(days=1)))
        except OverflowError:  # 9999-12-31: nothing is later
            return queryset
