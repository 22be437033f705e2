"""The work queue's filters."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from collections_app.case_rules import MEASURE_LABELS, OPEN_STATES
from collections_app.selectors import limitation_alert_cutoff
from loans.access import visible_branch_ids
from loans.models import Branch, User
from loans.permissions import is_officer
from loans.selectors import loan_ids_matching
from npl_recovery.widgets import FastSelect

# The officer's landing page: what is late or falls due within a week (urgency_on is the nearest
# of the time limit, the next promise and the limitation end).
TODAY_HORIZON_DAYS = 7

DUE_CHOICES = [
    ("today", _("Today's work: late or due within a week")),
    ("deadline_passed", _("Time limit passed")),
    ("deadline_30", _("Time limit within 30 days")),
    ("promise_due_7", _("Promise due within 7 days")),
    # Time-barred or within the warning window: the cases whose limitation end shows red.
    ("limitation", _("Limitation passed or running out")),
]


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search"))
    scope = django_filters.ChoiceFilter(
        choices=[("mine", _("My cases")), ("all", _("All I may see"))],
        method="filter_scope",
        label=_("Cases"),
        empty_label=None,
    )
    measure = django_filters.ChoiceFilter(
        choices=[(m.value, MEASURE_LABELS[m]) for m in OPEN_STATES], label=_("Measure"), empty_label=_("Any")
    )
    # Every officer and branch of the bank for head office: drawn in Python (FastSelect), not one
    # template per option.
    officer = django_filters.ModelChoiceFilter(
        queryset=User.objects.none(), label=_("Officer"), empty_label=_("Any"), widget=FastSelect
    )
    branch = django_filters.ModelChoiceFilter(
        queryset=Branch.objects.none(), label=_("Branch"), empty_label=_("Any"), widget=FastSelect
    )
    due = django_filters.ChoiceFilter(choices=DUE_CHOICES, method="filter_due", label=_("Due"), empty_label=_("Any"))

    def __init__(self, data=None, *args, user=None, **kwargs):
        self.user = user
        data = data.copy() if data is not None else {}
        if not data.get("scope"):
            # Officers start from their own cases; managers, auditors and admins from everything they see.
            data["scope"] = "mine" if is_officer(user) else "all"
        super().__init__(data, *args, **kwargs)
        ids = visible_branch_ids(user)
        branches = Branch.objects.all() if ids is None else Branch.objects.filter(pk__in=ids)
        self.filters["branch"].queryset = branches
        # Only what an option shows (display_name): head office is offered every officer of the bank.
        staff = User.objects.filter(is_active=True, role__in=["officer", "manager"]).only(
            "id", "username", "first_name", "last_name", "branch_id", "role", "is_active"
        )
        self.filters["officer"].queryset = staff if ids is None else staff.filter(branch__in=ids)
        if is_officer(user):
            # An officer's queue is theirs (or their branch's); picking another officer is for managers.
            del self.filters["officer"]
        else:
            # People, not login names.
            self.form.fields["officer"].label_from_instance = lambda u: u.display_name

    def search(self, queryset, name, value):
        # The loan list's search (loan number, borrower name or ID number), on the case's loan.
        ids = loan_ids_matching(value)
        return queryset if ids is None else queryset.filter(loan_id__in=ids)

    def filter_scope(self, queryset, name, value):
        return queryset.filter(officer=self.user) if value == "mine" else queryset

    def filter_due(self, queryset, name, value):
        today = timezone.localdate()
        if value == "today":
            return queryset.filter(urgency_on__lte=today + timedelta(days=TODAY_HORIZON_DAYS))
        if value == "deadline_passed":
            return queryset.filter(recovery_deadline__lt=today)
        if value == "deadline_30":
            return queryset.filter(recovery_deadline__lte=today + timedelta(days=30))
        if value == "promise_due_7":
            return queryset.filter(next_promise_due__lte=today + timedelta(days=7))
        if value in ("limitation", "limitation_90"):  # limitation_90: the old name, kept for saved links
            return queryset.filter(limitation_expires_on__lte=limitation_alert_cutoff(today))
        return queryset
