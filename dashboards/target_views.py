"""The targets page: the year's recovery targets of the manager's subtree, and the form that sets
one (through dashboards.services.target_set). Officers see their own targets and set none."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dashboards.models import RecoveryTarget
from dashboards.services import FIRST_YEAR, LAST_YEAR, can_set_targets, target_branches, target_set
from loans.access import sees_everything
from loans.models import Branch, User
from loans.permissions import is_officer


class TargetForm(forms.Form):
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=FIRST_YEAR, max_value=LAST_YEAR)
    branch = forms.ModelChoiceField(queryset=Branch.objects.none(), label=gettext_lazy("Branch"))
    officer = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=gettext_lazy("Officer"),
        help_text=gettext_lazy("Leave empty for the branch's own target."),
    )
    npl_reduction = forms.DecimalField(
        label=gettext_lazy("NPL balance reduction"), max_digits=18, decimal_places=2, min_value=0
    )
    cash_recovered = forms.DecimalField(
        label=gettext_lazy("Cash recovered"), max_digits=18, decimal_places=2, min_value=0
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        branches = target_branches(user).order_by("path")
        self.fields["branch"].queryset = branches
        staff = User.objects.filter(is_active=True, role__in=[User.Role.OFFICER, User.Role.MANAGER])
        if not sees_everything(user):
            staff = staff.filter(branch__in=branches)
        self.fields["officer"].queryset = staff.select_related("branch").order_by("last_name", "username")
        self.fields["officer"].label_from_instance = lambda u: u.display_name
        self.fields["officer"].empty_label = _("The branch itself")


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year") or 0)
    except ValueError:
        year = 0
    return year if FIRST_YEAR <= year <= LAST_YEAR else timezone.localdate().year


def visible_targets(user: Any, year: int):
    """The targets a user reads: an officer his own; a manager his subtree's; head office,
    administrators and auditors every branch's."""
    targets = RecoveryTarget.objects.filter(year=year).select_related("branch", "officer", "set_by")
    if is_officer(user):
        return targets.filter(officer=user)
    if sees_everything(user):
        return targets
    return targets.filter(branch__in=target_branches(user))


@login_required
def targets(request: HttpRequest) -> HttpResponse:
    user = request.user
    year = _year(request)
    can_set = can_set_targets(user)
    form = None
    if request.method == "POST":
        if not can_set:
            raise PermissionDenied(_("Only a manager sets recovery targets."))
        form = TargetForm(request.POST, user=user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                target = target_set(
                    actor=user,
                    year=data["year"],
                    branch=data["branch"],
                    officer=data["officer"],
                    npl_reduction=data["npl_reduction"],
                    cash_recovered=data["cash_recovered"],
                    reason=data["reason"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The targets are set."))
                return redirect(f"{reverse('dashboards:targets')}?year={target.year}")
    elif can_set:
        initial: dict[str, Any] = {"year": year}
        if user.branch_id:
            initial["branch"] = user.branch_id
        form = TargetForm(initial=initial, user=user)
    rows = list(visible_targets(user, year).order_by("branch__path", "officer__last_name", "officer__username"))
    return render(
        request,
        "dashboards/targets.html",
        {
            "year": year,
            "years": [year - 1, year + 1],
            "rows": rows,
            "form": form,
            "can_set": can_set,
            "dashboard_url": reverse("dashboard"),
        },
    )
