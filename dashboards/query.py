"""What a dashboard shows: the filters in its URL, resolved against what the user may see.

Every filter is a query parameter (`?branch=12&month=2026-06&product=...&borrower_kind=...&scheme=four
&since=year`; `since`: the migration matrix compares the as-of month's end with the previous month's
end, "month", or with the previous year's end, "year"),
so a view can be bookmarked and sent to a colleague; the colleague sees it through their own scope.
Scope: admins, auditors and head-office managers see the whole bank; a manager his branch's
subtree; an officer only his own figures (the cells whose responsible officer he is).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.access import sees_everything
from loans.models import Borrower, Branch
from loans.permissions import is_manager, is_officer
from npl_recovery.widgets import FastSelect

SCHEMES = (("five", _("Five-level")), ("four", _("Four-level")))
SINCE = (("month", _("Since the previous month end")), ("year", _("Since the previous year end")))


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class DashboardQuery:
    """A dashboard's filters, already checked against the user's scope."""

    branch: Branch | None  # the subtree's root; None: the whole bank
    month: date  # first day of the as-of month
    product: str = ""
    borrower_kind: str = ""
    scheme: str = "five"
    # The migration matrix's earlier month-end: the previous month's ("month") or year's ("year").
    since: str = "month"
    # An officer sees only his own figures: the cells whose responsible officer he is.
    officer_id: int | None = None
    # Set when the user picked an officer (drill-down from the league): that officer's figures.
    drill_officer_id: int | None = None
    today: date | None = None

    @property
    def is_current_month(self) -> bool:
        today = self.today or timezone.localdate()
        return self.month == today.replace(day=1)

    @property
    def as_of(self) -> date:
        """The figures' date: today in the current month, else the month's last day."""
        today = self.today or timezone.localdate()
        return today if self.is_current_month else month_end(self.month)

    @property
    def year_start(self) -> date:
        return self.month.replace(month=1)

    def cells(self, queryset: QuerySet) -> QuerySet:
        """`queryset` (of a kept cell table or the month-end snapshot: rows with branch and officer
        and, for cells, product and borrower kind) narrowed to this dashboard."""
        q = Q()
        if self.branch is not None:
            q &= Q(branch__path__startswith=self.branch.path)
        if self.officer_id is not None:
            q &= Q(officer_id=self.officer_id)
        if self.drill_officer_id is not None:
            q &= Q(officer_id=self.drill_officer_id)
        field_names = {f.name for f in queryset.model._meta.get_fields()}
        if self.product and "product" in field_names:
            q &= Q(product=self.product)
        if self.borrower_kind and "borrower_kind" in field_names:
            q &= Q(borrower_kind=self.borrower_kind)
        return queryset.filter(q)

    @property
    def rolls_up(self) -> bool:
        """Nothing narrows this dashboard below a branch (no officer, product or borrower kind): the
        kept cells' branch roll-ups answer it."""
        return self.officer_id is None and self.drill_officer_id is None and not self.product and not self.borrower_kind

    def kept(self, model: type, **filters: Any) -> QuerySet:
        """A kept cell table (dashboards.models BookCell, LedgerCell, CaseCell, CostCell) filtered by
        `filters` (its own keys) and narrowed to this dashboard, read from its branch roll-up when
        that answers the same (rolls_up): the same sums from far fewer rows."""
        from dashboards.models import ROLL_OF

        if self.rolls_up and model in ROLL_OF:
            model = ROLL_OF[model]
        return self.cells(model.objects.filter(**filters)).order_by()

    def kept_by_officer(self, model: type, **filters: Any) -> QuerySet:
        """A kept cell table filtered and narrowed as `kept`, for sums by responsible officer: read
        from its officer roll-up (the ledger's, the costs') when nothing narrows the view by product
        or borrower kind, the only dimensions that roll-up sums away."""
        from dashboards.models import OFFICER_ROLL_OF

        if not self.product and not self.borrower_kind and model in OFFICER_ROLL_OF:
            model = OFFICER_ROLL_OF[model]
        return self.cells(model.objects.filter(**filters)).order_by()

    def rows(
        self, queryset: QuerySet, *, branch: str = "branch", loan: str = "loan", officer: str | None = None
    ) -> QuerySet:
        """Source rows (cases, promises, flags...) narrowed to this dashboard as `cells` narrows kept
        cells: the branch subtree, the officer (his own; a drill-down picks one), the loan's product
        and its borrower's kind. `branch` and `loan` are the lookups from the model to the row's
        branch and loan; `officer` the lookup to the officer the row belongs to (default: the
        loan's responsible officer, as the kept cells count it)."""
        if self.branch is not None:
            subtree = Branch.objects.filter(path__startswith=self.branch.path).values("id")
            queryset = queryset.filter(**{f"{branch}__in": subtree})
        officer = officer or f"{loan}__responsible_officer"
        for officer_id in (self.officer_id, self.drill_officer_id):
            if officer_id is not None:
                queryset = queryset.filter(**{f"{officer}_id": officer_id})
        if self.product:
            queryset = queryset.filter(**{f"{loan}__product": self.product})
        if self.borrower_kind:
            queryset = queryset.filter(**{f"{loan}__borrower__kind": self.borrower_kind})
        return queryset

    def params(self, **changes: Any) -> dict[str, str]:
        values = {
            "branch": self.branch.pk if self.branch else "",
            "month": f"{self.month:%Y-%m}",
            "product": self.product,
            "borrower_kind": self.borrower_kind,
            "scheme": self.scheme,
            # The default is left out of the URL.
            "since": "" if self.since == "month" else self.since,
            "officer": self.drill_officer_id or "",
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None)}

    def querystring(self, **changes: Any) -> str:
        """The URL query of this view with `changes` (drill-down links, exports)."""
        return "?" + urlencode(self.params(**changes))

    def with_(self, **changes: Any) -> DashboardQuery:
        return replace(self, **changes)


def scope_root(user: Any) -> Branch | None:
    """The widest subtree the user may see: None for the whole bank."""
    if sees_everything(user):
        return None
    return user.branch


class DashboardForm(forms.Form):
    branch = forms.ModelChoiceField(
        queryset=Branch.objects.none(), required=False, label=_("Branch"), widget=FastSelect
    )
    month = forms.DateField(required=False, label=_("As of month"), input_formats=["%Y-%m"])
    product = forms.CharField(required=False, max_length=100, label=_("Product"))
    borrower_kind = forms.ChoiceField(required=False, label=_("Borrower kind"))
    scheme = forms.ChoiceField(required=False, choices=SCHEMES, label=_("Scheme"))
    since = forms.ChoiceField(required=False, choices=SINCE, label=_("Migration"))
    officer = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        root = scope_root(user)
        branches = Branch.objects.all() if root is None else Branch.objects.filter(path__startswith=root.path)
        self.fields["branch"].queryset = branches.order_by("path")
        self.fields["branch"].empty_label = _("Whole bank") if root is None else root.name
        self.fields["borrower_kind"].choices = [("", _("Any"))] + list(Borrower.Kind.choices)
        self.fields["month"].widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


def dashboard_query(request: Any, *, today: date | None = None) -> tuple[DashboardQuery, DashboardForm]:
    """The dashboard's filters from `request.GET`, within the user's scope. An invalid filter is
    dropped (the form shows the error beside its field); a branch outside the scope is not offered
    (a form error, then the user's own subtree)."""
    user = request.user
    today = today or timezone.localdate()
    form = DashboardForm(request.GET or None, user=user)
    data: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        data = getattr(form, "cleaned_data", {})
    month = data.get("month") or today.replace(day=1)
    if month > today:
        month = today.replace(day=1)
    officer_id = user.pk if is_officer(user) else None
    drill = data.get("officer")
    if drill and officer_id is None and not (sees_everything(user) or is_manager(user)):
        drill = None
    query = DashboardQuery(
        # An officer's figures are his own loans wherever they are (he may answer for a case of a
        # sibling outlet): no branch unless he picks one.
        branch=data.get("branch") or (None if officer_id is not None else scope_root(user)),
        month=month.replace(day=1),
        product=data.get("product") or "",
        borrower_kind=data.get("borrower_kind") or "",
        scheme=data.get("scheme") or "five",
        since=data.get("since") or "month",
        officer_id=officer_id,
        drill_officer_id=drill if officer_id is None else None,
        today=today,
    )
    return query, form
