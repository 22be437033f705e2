from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from accountability.forms import PersonChoiceField
from accountability.models import (
    AccountabilityRecord,
    LoansByLoansFlag,
    RecordKind,
    RecordOrigin,
    RecordState,
    RecordType,
)
from accountability.rules import WATCH_REASON_LABELS
from loans.access import visible_branch_ids
from loans.models import Branch, Loan, Role, User

DATE = {"type": "date"}


def _branches(user):
    ids = visible_branch_ids(user)
    return Branch.objects.all() if ids is None else Branch.objects.filter(pk__in=ids)


class PersonFilter(django_filters.ModelChoiceFilter):
    field_class = PersonChoiceField


class RecordFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=RecordState.choices, label=_("State"))
    kind = django_filters.ChoiceFilter(choices=RecordKind.choices, label=_("Sanction or reward"))
    record_type = django_filters.ChoiceFilter(choices=RecordType.choices, label=_("Type"))
    origin = django_filters.ChoiceFilter(choices=RecordOrigin.choices, label=_("Why"))
    officer = PersonFilter(queryset=User.objects.none(), label=_("Officer"))
    branch = django_filters.ModelChoiceFilter(queryset=Branch.objects.none(), label=_("Branch"))
    proposed_from = django_filters.DateFilter(
        field_name="proposed_on",
        lookup_expr="gte",
        label=_("Proposed from"),
        widget=forms.DateInput(attrs=DATE),
    )
    proposed_to = django_filters.DateFilter(
        field_name="proposed_on",
        lookup_expr="lte",
        label=_("to"),
        widget=forms.DateInput(attrs=DATE),
    )
    case = django_filters.NumberFilter(field_name="case_id", label=_("Case no."))

    class Meta:
        model = AccountabilityRecord
        fields = ["state", "kind", "record_type", "origin", "officer", "branch", "proposed_from", "proposed_to", "case"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        branches = _branches(user)
        self.filters["branch"].queryset = branches
        self.filters["officer"].queryset = User.objects.filter(
            branch__in=branches, role__in=[Role.OFFICER, Role.MANAGER]
        ).order_by("last_name", "username")


class WatchListFilter(django_filters.FilterSet):
    reason = django_filters.ChoiceFilter(
        choices=[(k.value, v) for k, v in WATCH_REASON_LABELS.items()], method="by_reason", label=_("Reason")
    )
    five_level_class = django_filters.ChoiceFilter(
        choices=[c for c in Loan.FIVE_LEVEL_CHOICES if c[0] in ("normal", "special_mention")], label=_("Class")
    )
    branch = django_filters.ModelChoiceFilter(queryset=Branch.objects.none(), label=_("Branch"))
    mine = django_filters.BooleanFilter(method="only_mine", label=_("Only my loans"), widget=forms.CheckboxInput())
    new = django_filters.BooleanFilter(method="only_new", label=_("New today"), widget=forms.CheckboxInput())

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.filters["branch"].queryset = _branches(user)

    def by_reason(self, queryset, name, value):
        return queryset.filter(reasons__contains=value) if value else queryset

    def only_mine(self, queryset, name, value):
        return queryset.filter(officer=self.user) if value else queryset

    def only_new(self, queryset, name, value):
        return queryset.filter(first_seen_on=F("as_of")) if value else queryset


class FlagFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LoansByLoansFlag.Kind.choices, label=_("Flag"))
    status = django_filters.ChoiceFilter(choices=LoansByLoansFlag.Status.choices, label=_("Status"))
    relation = django_filters.ChoiceFilter(choices=LoansByLoansFlag.Relation.choices, label=_("Related how"))
    branch = django_filters.ModelChoiceFilter(queryset=Branch.objects.none(), label=_("Branch"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["branch"].queryset = _branches(user)
